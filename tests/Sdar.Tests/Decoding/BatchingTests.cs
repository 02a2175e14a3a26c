using Sdar.Decoding;

namespace Sdar.Tests.Decoding;

public class BatchingTests
{
    private const int Eos = FakeConfigs.Eos, Mask = FakeConfigs.Mask;

    /// <summary>
    /// Logits depend on the position and on every visible token, so a sequence's output would change if the
    /// generator mixed up caches, positions or blocks between sequences. EOS becomes likely late in a sequence.
    /// </summary>
    private static void ContextRow(int position, IReadOnlyList<int> visible, Span<float> row)
    {
        int hash = 17;
        foreach (int t in visible) hash = unchecked(hash * 31 + t);
        for (int v = 0; v < row.Length; v++)
            row[v] = 2.5f * MathF.Sin(position * 0.7f + v * 1.3f + (hash & 1023) * 0.01f);
        row[Mask] = -20;
        row[Eos] = position > 20 ? 3f : -5f;
    }

    private static ScriptedModel Model(bool diffusion) =>
        new(diffusion ? FakeConfigs.Sdar() : FakeConfigs.Qwen3(), ContextRow);

    private static readonly int[][] Prompts = [[1, 2, 3], [4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 1, 2, 3, 4], [7]];

    private static GenerationRequest[] Requests(params GenerationOptions[] options) =>
        Prompts.Select((p, i) => new GenerationRequest(p, options[i % options.Length] with { Seed = 100 + i })).ToArray();

    private static object Signature(GenerationResult r) => new
    {
        Tokens = string.Join(",", r.TokenIds), r.StopReason, r.StopTokenId, r.Nfe,
        Trace = string.Join(";", r.Trace!.Select(t => $"{t.Block}/{t.Step}:" + string.Join(",", t.Commits))),
    };

    private static void AssertBatchEqualsSingle(bool diffusion, GenerationRequest[] requests)
    {
        var batchModel = Model(diffusion);
        var batch = Generator.For(batchModel, [Eos]).GenerateBatch(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            var single = Generator.For(Model(diffusion), [Eos]).Generate(requests[i].PromptIds, requests[i].Options);
            Assert.Equal(Signature(single), Signature(batch[i]));
        }
        Assert.Contains(batch, r => r.StopReason == StopReason.StopToken);
        Assert.Contains(batch, r => r.StopReason == StopReason.Length);
    }

    [Fact]
    public void Diffusion_batch_results_equal_single_results()
    {
        var sampled = new GenerationOptions { MaxNewTokens = 30, Temperature = 0.8, TopK = 8, TopP = 0.9, RecordTrace = true };
        AssertBatchEqualsSingle(diffusion: true, Requests(
            sampled,
            sampled with { Strategy = "low_confidence_static", DenoisingSteps = 3 },
            sampled with { Strategy = "entropy_bounded", Temperature = 0 },
            sampled with { Strategy = "sequential", MaxNewTokens = 9 }));
    }

    [Fact]
    public void Autoregressive_batch_results_equal_single_results() =>
        AssertBatchEqualsSingle(diffusion: false, Requests(
            new GenerationOptions { MaxNewTokens = 30, Temperature = 1, TopP = 0.9, RecordTrace = true },
            new GenerationOptions { MaxNewTokens = 5, Temperature = 0, RecordTrace = true }));

    [Fact]
    public void One_forward_serves_every_active_sequence_and_finished_ones_drop_out()
    {
        var model = Model(diffusion: true);
        var options = new GenerationOptions { Temperature = 0, Strategy = "low_confidence_static", RecordTrace = true };
        var results = new BlockDiffusionGenerator(model).GenerateBatch(
            [new GenerationRequest([1, 2, 3, 4], options with { MaxNewTokens = 4 }),
             new GenerationRequest([5, 6, 7, 8], options with { MaxNewTokens = 12 })]);
        var sizes = model.Calls.Select(c => c.Inputs.Count).ToArray();
        // Both prefill together, then run in lock step until the short one commits its only block.
        Assert.Equal(results[0].Nfe.Total, sizes.Count(s => s == 2));
        Assert.Equal(results[1].Nfe.Total - results[0].Nfe.Total, sizes.Count(s => s == 1));
        Assert.Equal(sizes.OrderByDescending(s => s), sizes);
    }

    [Fact]
    public void Sequences_with_different_block_lengths_share_one_forward()
    {
        var model = Model(diffusion: true);
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 8, RecordTrace = true, IgnoreEos = true };
        var requests = new[]
        {
            new GenerationRequest([1, 2, 3], options with { BlockLength = 4 }),
            new GenerationRequest([1, 2, 3], options with { BlockLength = 8 }),
        };
        var batch = new BlockDiffusionGenerator(model).GenerateBatch(requests);
        Assert.Contains(model.Calls, c => c.Inputs.Select(i => i.BlockLength).Order().SequenceEqual([4, 8]));
        for (int i = 0; i < 2; i++)
            Assert.Equal(Signature(new BlockDiffusionGenerator(Model(true)).Generate(requests[i].PromptIds, requests[i].Options)),
                Signature(batch[i]));
    }

    [Fact]
    public void Batch_chunks_carry_their_request_index()
    {
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 8, IgnoreEos = true };
        var chunks = new BlockDiffusionGenerator(Model(true)).Stream(Requests(options)).ToList();
        for (int i = 0; i < Prompts.Length; i++)
        {
            var mine = chunks.Where(c => c.SequenceIndex == i).ToList();
            Assert.True(mine[^1].IsFinal);
            Assert.Equal(mine.SelectMany(c => c.TokenIds), mine[^1].Result!.TokenIds);
        }
    }
}
