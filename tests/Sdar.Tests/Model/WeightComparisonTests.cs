using System.Text.Json;
using Sdar.Cli;
using Sdar.Data;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Runtime;
using Sdar.Tests.Checkpoints;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Model;

/// <summary><see cref="WeightComparison"/> and <c>sdar compare-weights</c>: accuracy and next-token KL of quantized weights.</summary>
public class WeightComparisonTests
{
    private static IReadOnlyList<GsmExample> Items(int count) =>
        Jsonl.ReadGsm8k(CliRunner.Fixture("benchmarks", "gsm8k-test-12.jsonl")).Take(count).ToList();

    [Fact]
    public void Kl_divergence_is_zero_for_the_same_distribution_and_matches_the_closed_form()
    {
        float[] p = [0f, MathF.Log(3f)];   // (1/4, 3/4)
        Assert.Equal(0, WeightComparison.KlDivergence(p, p), 12);
        Assert.Equal(0, WeightComparison.KlDivergence(p, [5f, 5f + MathF.Log(3f)]), 6);   // logits shifted: the same softmax
        double expected = 0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5);
        Assert.Equal(expected, WeightComparison.KlDivergence(p, [0f, 0f]), 6);
        double reverse = 0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75);
        Assert.Equal(reverse, WeightComparison.KlDivergence([0f, 0f], p), 6);
        Assert.Throws<ArgumentException>(() => WeightComparison.KlDivergence(p, [0f]));
    }

    [Theory]
    [InlineData(5)]   // the first block starts with the prompt's tail
    [InlineData(8)]   // the prompt fills whole blocks
    public void Next_token_logits_are_the_distribution_the_decoder_commits_its_first_token_from(int promptLength)
    {
        foreach (string folder in new[] { CliRunner.TinyQwen3, CliRunner.TinySdar })
        {
            using var model = LoadedModel.Open(folder);
            int[] prompt = [.. Enumerable.Range(0, promptLength).Select(i => 100 + 17 * i)];
            int block = model.Config.IsDiffusion ? model.Config.BlockSize : 1;
            float[] logits = WeightComparison.NextTokenLogits(model.Model, prompt, block);
            Assert.Equal(model.Config.VocabSize, logits.Length);
            // One denoising step commits the whole first block at once, each position from the first forward's row.
            var options = new GenerationOptions { MaxNewTokens = 1, Temperature = 0, Logprobs = 5, DenoisingSteps = 1, Strategy = "low_confidence_static" };
            var first = model.Generator.Generate(prompt, options).Logprobs![0];
            double max = logits.Max(), logSum = max + Math.Log(logits.Sum(v => Math.Exp(v - max)));
            Assert.Equal(Array.IndexOf(logits, logits.Max()), first.TokenId);
            foreach (var alternative in first.Top)
                Assert.InRange(alternative.Logprob - (logits[alternative.TokenId] - logSum), -1e-4, 1e-4);
        }
    }

    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-sdar")]
    public void Quantized_formats_are_evaluated_beside_the_stored_weights_with_their_kl_from_them(string fixture)
    {
        using var model = LoadedModel.Open(CliRunner.Fixture("sdar-golden", fixture));
        var options = new GenerationOptions { MaxNewTokens = 8, Temperature = 0 };
        var results = WeightComparison.Run(model, [DType.Q8_0, DType.Q4_0], Items(4), options, batchSize: 2);

        Assert.Equal([model.Weights.Layers[0].QProj.DType, DType.Q8_0, DType.Q4_0], results.Select(r => r.Format));
        Assert.All(results, r => Assert.Equal(4, r.Eval.Report.Count));
        Assert.Null(results[0].MeanKl);
        Assert.True(results[1].WeightBytes < results[0].WeightBytes && results[2].WeightBytes < results[1].WeightBytes);
        // 8 bits stay closer to the stored weights than 4.
        Assert.InRange(results[1].MeanKl!.Value, 0, results[2].MeanKl!.Value);
        Assert.True(results[2].MeanKl > 0);
        Assert.True(results[1].MaxKl >= results[1].MeanKl);
        Assert.InRange(results[1].TopTokenAgreement!.Value, 0, 1);
    }

    [Fact]
    public void Cli_prints_one_json_object_per_format_and_names_bad_input()
    {
        var (code, output, error) = CliRunner.Run("compare-weights", "--model", CliRunner.TinyQwen3, "--data", CliRunner.Fixture("benchmarks", "gsm8k-test-12.jsonl"),
            "--limit", "3", "--max-new-tokens", "4", "--formats", "q4", "--json");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(["bf16", "q4"], lines.Select(l => l.GetProperty("weights").GetString()));
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("kl_mean").ValueKind);
        Assert.True(lines[1].GetProperty("kl_mean").GetDouble() > 0);
        Assert.Equal(3, lines[1].GetProperty("count").GetInt32());

        (code, _, error) = CliRunner.Run("compare-weights", "--model", CliRunner.TinyQwen3, "--data", CliRunner.Fixture("benchmarks", "gsm8k-test-12.jsonl"), "--formats", "q8,q5");
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--formats: expected q8 or q4; got 'q5'", error, StringComparison.Ordinal);

        using var dir = new TempDir();
        string quantized = Path.Combine(dir.Path, "q8");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", CliRunner.TinyQwen3, "--out", quantized, "--format", "q8").ExitCode);
        (code, _, error) = CliRunner.Run("compare-weights", "--model", quantized, "--data", CliRunner.Fixture("benchmarks", "gsm8k-test-12.jsonl"));
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains($"{quantized} is already quantized (q8_0)", error, StringComparison.Ordinal);
    }
}
