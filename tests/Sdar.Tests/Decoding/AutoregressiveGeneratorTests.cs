using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

public class AutoregressiveGeneratorTests
{
    private const int Eos = FakeConfigs.Eos;

    /// <summary>Predicts "previous token + 1" from the last visible token (AR: the logit at i predicts token i+1).</summary>
    private static ScriptedModel Counting() =>
        new(FakeConfigs.Qwen3(), (_, visible, row) => Rows.Peaked(row, Math.Min(visible[^1] + 1, Eos), 0.9));

    private static GenerationOptions Greedy(int maxNewTokens) => new() { MaxNewTokens = maxNewTokens, Temperature = 0, RecordTrace = true };

    [Fact]
    public void Prefill_predicts_the_first_token_and_each_further_token_costs_one_forward()
    {
        var model = Counting();
        var result = new AutoregressiveGenerator(model).Generate([1, 2, 3], Greedy(5));
        Assert.Equal([4, 5, 6, 7, 8], result.TokenIds);
        Assert.Equal(new NfeCount(5, 5), result.Nfe);
        Assert.Equal(1.0, result.TokensPerForward);

        Assert.All(model.Calls, c => Assert.Equal(AttentionKind.Causal, c.Attention));
        var inputs = model.Calls.Select(c => Assert.Single(c.Inputs)).ToArray();
        Assert.Equal([1, 2, 3], inputs[0].Tokens);
        Assert.Equal([[1, 2, 3], [4], [5], [6], [7]], inputs.Select(i => i.Tokens));
        Assert.Equal([0, 3, 4, 5, 6], inputs.Select(i => i.CacheLength));
        Assert.All(inputs, i => Assert.True(i.StoreKv));
        Assert.All(inputs, i => Assert.Equal(LogitsKind.Last, i.Logits));
    }

    [Fact]
    public void A_stop_token_ends_generation_without_feeding_it_back()
    {
        var model = Counting();
        var result = Generator.For(model, [Eos]).Generate([10], Greedy(20));
        Assert.Equal([11, 12, 13], result.TokenIds);
        Assert.Equal(StopReason.StopToken, result.StopReason);
        Assert.Equal(Eos, result.StopTokenId);
        Assert.Equal(new NfeCount(4, 4), result.Nfe);
        Assert.Equal(1.0, result.TokensPerForward);
    }

    [Fact]
    public void Trace_records_one_commit_per_token()
    {
        var result = new AutoregressiveGenerator(Counting()).Generate([1, 2], Greedy(3));
        Assert.Equal([(2, 3), (3, 4), (4, 5)], result.Trace!.Select(t => (t.Commits[0].Position, t.Commits[0].TokenId)));
        Assert.All(result.Trace!, t => Assert.Equal(0.9f, t.Commits[0].Confidence, 4));
    }

    [Fact]
    public void Streaming_yields_one_token_per_chunk()
    {
        var chunks = new AutoregressiveGenerator(Counting()).Stream([1], Greedy(3)).ToList();
        Assert.Equal([[2], [3], [4], []], chunks.Select(c => c.TokenIds));
        Assert.True(chunks[^1].IsFinal);
    }

    [Fact]
    public void An_empty_prompt_is_rejected() =>
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new AutoregressiveGenerator(Counting()).Generate([], Greedy(3))).Message);

    [Fact]
    public void Generator_for_picks_the_decoder_from_the_model_type()
    {
        Assert.IsType<AutoregressiveGenerator>(Generator.For(Counting()));
        var diffusion = Generator.For(new ScriptedModel(FakeConfigs.Sdar(), (_, _, row) => row.Clear()), [Eos]);
        Assert.IsType<BlockDiffusionGenerator>(diffusion);
        Assert.Equal([Eos], diffusion.DefaultStopTokenIds);
    }
}
