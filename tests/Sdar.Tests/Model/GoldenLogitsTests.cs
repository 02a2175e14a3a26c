using System.Text.Json;
using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Model;

/// <summary>
/// Full forwards of the tiny checkpoints against float32 logits from an independent PyTorch implementation
/// (tests/fixtures/sdar-golden/logits.json): block-causal without shift for tiny-sdar, causal for tiny-qwen3.
/// </summary>
public class GoldenLogitsTests
{
    private static readonly string GoldenDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden");

    public static TheoryData<string, bool> Cases() => new()
    {
        { "tiny-sdar", false }, { "tiny-sdar", true }, { "tiny-qwen3", false }, { "tiny-qwen3", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_the_independent_implementation(string model, bool fast)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenDir, "logits.json")));
        var golden = document.RootElement.GetProperty(model);
        var ids = golden.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, model));
        ILanguageModel engine = fast ? new FastModel(checkpoint.Weights) : new ReferenceModel(checkpoint.Weights);
        var attention = checkpoint.Config.IsDiffusion ? AttentionKind.BlockCausal : AttentionKind.Causal;
        int block = golden.TryGetProperty("block_length", out var b) ? b.GetInt32() : 0;

        var logits = engine.Forward([new SequenceInput(ids, new ContiguousKvCache(checkpoint.Config), false)], attention, block)[0];

        int vocab = checkpoint.Config.VocabSize;
        var rows = golden.GetProperty("logits_first8").EnumerateArray().ToArray();
        var argmax = golden.GetProperty("argmax").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var rowMax = golden.GetProperty("row_max").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var logSumExp = golden.GetProperty("row_logsumexp").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int t = 0; t < ids.Length; t++)
        {
            var row = logits.AsSpan(t * vocab, vocab).ToArray();
            double scale = Math.Max(1.0, Math.Abs(rowMax[t]));
            var expectedFirst = rows[t].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < expectedFirst.Length; i++)
                Assert.True(Math.Abs(row[i] - expectedFirst[i]) <= 1e-4 * scale, $"row {t} logit {i}: expected {expectedFirst[i]}, got {row[i]}");
            Assert.Equal(argmax[t], Array.IndexOf(row, row.Max()));
            Assert.True(Math.Abs(row.Max() - rowMax[t]) <= 1e-4 * scale, $"row {t} max");
            double max = row.Max();
            double lse = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            Assert.True(Math.Abs(lse - logSumExp[t]) <= 1e-4 * scale, $"row {t} logsumexp: expected {logSumExp[t]}, got {lse}");
        }
    }
}
