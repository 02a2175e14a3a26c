using System.Text.Json;
using Sdar.Checkpoints;

namespace Sdar.Tests.Cli;

/// <summary>The whole recipe of the bundled models, end to end at toy size: train, AR SFT, convert, SDAR SFT, generate.</summary>
public sealed class TrainingCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sdar-train-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static void Ok((int ExitCode, string Output, string Error) run) => Assert.True(run.ExitCode == 0, run.Error);

    private static readonly string[] Tiny = ["--seq-length", "128", "--batch-rows", "2", "--precision", "Fp32"];

    [Fact]
    public void Train_sft_convert_sft_produce_models_the_engine_generates_with()
    {
        Ok(CliRunner.Run("data", "generate", "--out", P("data"), "--train", "300", "--validation", "10", "--test", "10"));
        Ok(CliRunner.Run("tokenizer", "train", "--corpus", P("data"), "--out", P("tok"), "--vocab-size", "400"));
        Ok(CliRunner.Run(["train", "--tokenizer", P("tok"), "--data", P("data/pretrain.jsonl"), "--out", P("ar"), "--steps", "3",
            "--hidden-size", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--intermediate-size", "64", .. Tiny]));
        Ok(CliRunner.Run(["sft", "--model", P("ar"), "--data", P("data/sft.jsonl"), "--out", P("ar-sft"), "--steps", "2", .. Tiny]));
        Ok(CliRunner.Run(["convert", "--model", P("ar-sft"), "--data", P("data/pretrain.jsonl"), "--out", P("sdar0"), "--steps", "2", .. Tiny]));
        Ok(CliRunner.Run(["sft", "--model", P("sdar0"), "--data", P("data/sft.jsonl"), "--out", P("sdar"), "--steps", "2", "--block-length", "4", .. Tiny]));

        using (var checkpoint = Checkpoint.Open(P("sdar")))
        {
            Assert.Equal("sdar", checkpoint.Config.ModelType);
            Assert.Equal(4, checkpoint.Config.BlockSize);
            Assert.NotNull(checkpoint.Config.MaskTokenId);
            Assert.All(checkpoint.Weights.AllTensors(), t => Assert.Equal(Sdar.Model.DType.BF16, t.DType));
        }
        Assert.True(File.Exists(P("ar.run/log.jsonl")));
        Assert.True(File.Exists(P("ar.run/loss.png")));

        var (code, output, error) = CliRunner.Run("generate", "--model", P("sdar"), "--prompt", "What is 2 + 3?", "--chat", "-n", "8", "-t", "0", "--json");
        Assert.True(code == 0, error);
        Assert.Equal("block_diffusion", JsonDocument.Parse(output).RootElement.GetProperty("decoding").GetString());
        (code, output, error) = CliRunner.Run("generate", "--model", P("ar-sft"), "--prompt", "What is 2 + 3?", "--chat", "-n", "4", "-t", "0", "--json");
        Assert.True(code == 0, error);
        Assert.Equal("autoregressive", JsonDocument.Parse(output).RootElement.GetProperty("decoding").GetString());
    }

    [Fact]
    public void Bad_training_flags_and_files_are_named()
    {
        var (code, _, error) = CliRunner.Run("train", "--tokenizer", P("tok"), "--data", P("x.jsonl"), "--out", P("m"), "--steps", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("--steps", error);

        Directory.CreateDirectory(_dir);
        File.WriteAllText(P("bad.jsonl"), "{\"text\": \"fine\"}\n{\"text\": 5}\n");
        (code, _, error) = CliRunner.Run(["convert", "--model", CliRunner.TinyQwen3, "--data", P("bad.jsonl"), "--out", P("m"), "--steps", "1", .. Tiny]);
        Assert.NotEqual(0, code);
        Assert.Contains("bad.jsonl", error);
        Assert.Contains("2", error);
        Assert.DoesNotContain("   at ", error);

        (code, _, error) = CliRunner.Run(["convert", "--model", CliRunner.TinySdar, "--data", P("bad.jsonl"), "--out", P("m"), "--steps", "1", .. Tiny]);
        Assert.NotEqual(0, code);
        Assert.Contains("already an SDAR model", error);
    }
}
