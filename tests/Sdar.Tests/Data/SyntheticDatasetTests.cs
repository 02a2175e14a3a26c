using System.Text.Json;
using Sdar.Data;

namespace Sdar.Tests.Data;

public sealed class SyntheticDatasetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sdar-data-" + Guid.NewGuid().ToString("N"));
    private static readonly DatasetOptions Small = new() { Seed = 5, Train = 3000, Validation = 200, Test = 300 };

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Writes_every_split_with_the_requested_sizes()
    {
        var summary = SyntheticDataset.Write(_dir, Small);
        Assert.Equal(3000, Jsonl.ReadGsm8k(Path.Combine(_dir, SyntheticDataset.TrainFile)).Count);
        Assert.Equal(200, Jsonl.ReadGsm8k(Path.Combine(_dir, SyntheticDataset.ValidationFile)).Count);
        Assert.Equal(300, Jsonl.ReadGsm8k(Path.Combine(_dir, SyntheticDataset.TestFile)).Count);
        Assert.Equal(3000, summary.FamiliesBySplit["train"].Values.Sum());
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void No_test_or_validation_question_appears_in_training()
    {
        SyntheticDataset.Write(_dir, Small);
        HashSet<string> Keys(string file) =>
            Jsonl.ReadGsm8k(Path.Combine(_dir, file)).Select(e => TaskSuite.NormaliseQuestion(e.Question)).ToHashSet();
        var train = Keys(SyntheticDataset.TrainFile);
        var validation = Keys(SyntheticDataset.ValidationFile);
        var test = Keys(SyntheticDataset.TestFile);
        Assert.Equal(3000, train.Count);
        Assert.Empty(test.Intersect(train));
        Assert.Empty(test.Intersect(validation));
        Assert.Empty(validation.Intersect(train));

        var pretrain = Jsonl.ReadTexts(Path.Combine(_dir, SyntheticDataset.PretrainFile)).ToList();
        Assert.DoesNotContain(pretrain, text => test.Contains(TaskSuite.NormaliseQuestion(text.Split('\n')[0])));
    }

    [Fact]
    public void The_test_split_does_not_depend_on_the_training_size()
    {
        var (_, _, small) = SyntheticDataset.Split(Small with { Train = 10 });
        var (_, _, large) = SyntheticDataset.Split(Small);
        Assert.Equal(small, large);
    }

    [Fact]
    public void Lines_are_gsm8k_records_with_exactly_question_and_answer()
    {
        SyntheticDataset.Write(_dir, Small with { Train = 20 });
        string first = File.ReadLines(Path.Combine(_dir, SyntheticDataset.TestFile)).First();
        using var doc = JsonDocument.Parse(first);
        Assert.Equal(["question", "answer"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Contains("#### ", doc.RootElement.GetProperty("answer").GetString());
        Assert.DoesNotContain("\\u002B", File.ReadAllText(Path.Combine(_dir, SyntheticDataset.TrainFile)));
    }

    [Fact]
    public void Sft_and_pretraining_files_hold_the_training_split()
    {
        SyntheticDataset.Write(_dir, Small with { Train = 50 });
        var train = Jsonl.ReadGsm8k(Path.Combine(_dir, SyntheticDataset.TrainFile));
        var chats = File.ReadLines(Path.Combine(_dir, SyntheticDataset.SftFile)).ToList();
        var texts = Jsonl.ReadTexts(Path.Combine(_dir, SyntheticDataset.PretrainFile)).ToList();
        Assert.Equal(train.Count, chats.Count);
        Assert.Equal(train.Count, texts.Count);
        for (int i = 0; i < train.Count; i++)
        {
            using var doc = JsonDocument.Parse(chats[i]);
            var messages = doc.RootElement.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(2, messages.Count);
            Assert.Equal("user", messages[0].GetProperty("role").GetString());
            Assert.Equal(train[i].Question, messages[0].GetProperty("content").GetString());
            Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
            Assert.Equal(train[i].Answer, messages[1].GetProperty("content").GetString());
            Assert.Equal(train[i].Question + "\n" + train[i].Answer, texts[i]);
        }
    }

    [Fact]
    public void The_same_options_write_the_same_bytes()
    {
        var options = Small with { Train = 100 };
        SyntheticDataset.Write(_dir, options);
        byte[] first = File.ReadAllBytes(Path.Combine(_dir, SyntheticDataset.TrainFile));
        SyntheticDataset.Write(_dir, options);
        Assert.Equal(first, File.ReadAllBytes(Path.Combine(_dir, SyntheticDataset.TrainFile)));
    }

    [Fact]
    public void The_manifest_records_seed_sizes_and_families()
    {
        SyntheticDataset.Write(_dir, Small with { Train = 100 });
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, SyntheticDataset.ManifestFile)));
        Assert.Equal(5, doc.RootElement.GetProperty("seed").GetInt32());
        Assert.Equal(100, doc.RootElement.GetProperty("sizes").GetProperty("train").GetInt32());
        Assert.Equal(300, doc.RootElement.GetProperty("families").GetProperty("test").EnumerateObject().Sum(p => p.Value.GetInt32()));
    }

    [Fact]
    public void Reading_a_malformed_line_names_the_file_and_line()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(path, "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": 3}\n");
        var e = Assert.Throws<InvalidDataException>(() => Jsonl.ReadGsm8k(path));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("\"question\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_sizes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => SyntheticDataset.Write(_dir, Small with { Test = -1 }));
    }
}
