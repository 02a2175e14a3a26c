using Sdar.Cli;
using System.Text.Json;
using Sdar.Data;
using Sdar.Tokenization;

namespace Sdar.Tests.Cli;

public sealed class DataCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sdar-data-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Generate_then_train_tokenizer_writes_a_dataset_and_a_loadable_tokenizer()
    {
        string data = Path.Combine(_dir, "data"), tokenizer = Path.Combine(_dir, "tokenizer");
        var (code, output, error) = CliRunner.Run("data", "generate", "--out", data, "--train", "400", "--validation", "20", "--test", "30", "--seed", "3");
        Assert.True(code == 0, error);
        Assert.Contains("wrote 400 train, 20 validation, 30 test items", output);
        Assert.Equal(30, Jsonl.ReadGsm8k(Path.Combine(data, SyntheticDataset.TestFile)).Count);

        (code, output, error) = CliRunner.Run("data", "train-tokenizer", "--corpus", data, "--out", tokenizer, "--vocab-size", "400");
        Assert.True(code == 0, error);
        Assert.Contains("trained 400 tokens", output);
        Assert.Contains("<|MASK|>=399", output);

        var hf = HfTokenizer.FromDirectory(tokenizer);
        Assert.Equal(400, hf.VocabSize);
        string text = Jsonl.ReadTexts(Path.Combine(data, SyntheticDataset.PretrainFile)).First();
        Assert.Equal(text, hf.Decode(hf.Encode(text)));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(tokenizer, TrainedBpe.TokenizerConfigFile)));
        Assert.Equal(ChatTemplates.Qwen3ThinkingOffByDefault, config.RootElement.GetProperty("chat_template").GetString());
    }

    [Fact]
    public void Flags_out_of_range_are_one_line_errors_naming_the_flag()
    {
        var (code, _, error) = CliRunner.Run("data", "generate", "--out", _dir, "--train", "-5");
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--train", error);

        (code, _, error) = CliRunner.Run("data", "train-tokenizer", "--corpus", _dir, "--out", _dir, "--vocab-size", "100");
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--vocab-size: expected an integer from 262 to", error);
    }

    [Fact]
    public void A_missing_corpus_is_named()
    {
        var (code, _, error) = CliRunner.Run("data", "train-tokenizer", "--corpus", Path.Combine(_dir, "nope.jsonl"), "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("nope.jsonl", error);
    }
}
