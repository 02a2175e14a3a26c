using Sdar.Templates;
using Sdar.Tests.Checkpoints;
using Sdar.Tokenization;
using Sdar.Training.Data;

namespace Sdar.Tests.Training;

/// <summary>Data files, chat rendering with labels, and packing.</summary>
public class DataTests
{
    private static int[] Encode(string text) => text.Select(c => (int)c % 60).ToArray();

    [Fact]
    public void Bad_json_line_names_the_file_and_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.jsonl"), "{\"text\": \"ok\"}\n\n{\"text\": oops}\n");
        var error = Assert.Throws<DataFileException>(() => TextCorpus.Load([dir.File("a.jsonl")], Encode, 1));
        Assert.Equal(3, error.Line);
        Assert.StartsWith($"{dir.File("a.jsonl")}:3: not valid JSON", error.Message);
    }

    [Theory]
    [InlineData("{\"question\": \"q\"}", "\"answer\" is missing")]
    [InlineData("{\"text\": 5}", "field \"text\" must be a string")]
    [InlineData("[1, 2]", "expected a JSON object")]
    public void Records_without_the_expected_fields_are_explained(string line, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.jsonl"), "{\"text\": \"fine\"}\n" + line + "\n");
        var error = Assert.Throws<DataFileException>(() => TextCorpus.Load([dir.File("a.jsonl")], Encode, 1));
        Assert.Equal(2, error.Line);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Gsm8k_records_are_joined_and_every_document_ends_with_eos()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n{\"text\": \"hi\"}\n");
        var samples = TextCorpus.Load([dir.File("a.jsonl")], Encode, 99);
        Assert.Equal([.. Encode("1+1?\n#### 2"), 99], samples[0].Tokens);
        Assert.Equal([.. Encode("hi"), 99], samples[1].Tokens);
        Assert.All(samples, s => Assert.All(s.IsLabel, Assert.True));
    }

    [Fact]
    public void Chat_samples_label_only_the_assistant_turns()
    {
        var tokenizer = HfTokenizer.FromDirectory(TestFiles.Fixture("tiny-sdar"));
        var corpus = ChatCorpus.WithTemplate(t => [.. tokenizer.Encode(t)], ChatTemplate.Parse(tokenizer.ChatTemplate!));
        var sample = corpus.Build([
            ChatMessages.Message("user", "hello there"), ChatMessages.Message("assistant", "hi"),
            ChatMessages.Message("user", "again"), ChatMessages.Message("assistant", "ok then")]);
        string labelled = tokenizer.Decode(sample.Tokens.Where((_, i) => sample.IsLabel[i]));
        Assert.Equal("hi<|im_end|>\nok then<|im_end|>\n", labelled);
        Assert.Equal("<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\nhi<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\nok then<|im_end|>\n",
            tokenizer.Decode(sample.Tokens));
    }

    [Fact]
    public void Chat_file_without_an_assistant_turn_is_an_error_with_its_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("chat.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n");
        var corpus = new ChatCorpus(Encode, (m, g) => "");
        var error = Assert.Throws<DataFileException>(() => corpus.Load([dir.File("chat.jsonl")]));
        Assert.Equal(1, error.Line);
        Assert.Contains("no assistant message", error.Message);
    }

    [Fact]
    public void Stream_packing_cuts_samples_at_row_ends_and_restarts_positions()
    {
        var rows = RowPacker.PackStream([TrainingSample.AllLabels([1, 2, 3, 4, 5]), TrainingSample.AllLabels([6, 7, 8, 9])], 4, 0);
        Assert.Equal(3, rows.Count);
        Assert.Equal([1, 2, 3, 4], rows[0].Tokens);
        Assert.Equal([5, 6, 7, 8], rows[1].Tokens);
        Assert.Equal([0, 0, 1, 2], rows[1].Positions);
        Assert.Equal([0, 1, 1, 1], rows[1].SampleIds);
        Assert.Equal([9, 0, 0, 0], rows[2].Tokens);
        Assert.Equal([0, -1, -1, -1], rows[2].SampleIds);
        Assert.Equal([true, false, false, false], rows[2].IsLabel);
    }

    [Fact]
    public void Whole_packing_keeps_samples_intact_and_pads_them_to_the_block()
    {
        var samples = new[] { new TrainingSample([1, 2, 3], [false, true, true]), new TrainingSample([4, 5, 6, 7, 8], [false, false, true, true, true]), new TrainingSample([9], [true]) };
        var rows = RowPacker.PackWhole(samples, 8, 0, padMultiple: 4);
        Assert.Equal(2, rows.Count);
        // The second sample (8 after padding) fills a row of its own; the third joins the first.
        var shared = rows.Single(r => r.Tokens[0] == 1);
        Assert.Equal([1, 2, 3, 0, 9, 0, 0, 0], shared.Tokens);
        Assert.Equal([false, true, true, true, true, true, true, true], shared.IsLabel);
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], shared.Positions);
        Assert.Equal([4, 5, 6, 7, 8, 0, 0, 0], rows.Single(r => r.Tokens[0] == 4).Tokens);
    }

    [Fact]
    public void Row_source_is_deterministic_and_restores_from_its_position()
    {
        var samples = Enumerable.Range(0, 20).Select(i => TrainingSample.AllLabels([i, i, i])).ToList();
        List<PackedRow> Pack(IEnumerable<TrainingSample> s) => RowPacker.PackWhole(s, 6, 0);
        var a = new PackedRowSource(samples, Pack, seed: 3);
        var all = Enumerable.Range(0, 25).Select(_ => a.Next().Tokens).ToList();  // crosses into epoch 2
        var b = new PackedRowSource(samples, Pack, seed: 3);
        b.Take(7);
        var saved = b.Position;
        var c = new PackedRowSource(samples, Pack, seed: 3) { Position = saved };
        Assert.Equal(all.Skip(7), Enumerable.Range(0, 18).Select(_ => c.Next().Tokens));
    }
}
