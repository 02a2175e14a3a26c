using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Ordinary AR decoding of one sequence (<c>qwen3</c> checkpoints): the prefill forward's last row predicts the
/// first new token (logit at i predicts token i+1 in AR mode), then each sampled token is fed back, one forward
/// per token, storing its K/V. The last sampled token is never fed, so N tokens cost N forwards.
/// </summary>
internal sealed class AutoregressiveSequence : DecodingSequence
{
    private readonly KvCache _cache;
    private readonly int _promptLength, _vocabSize;
    private int[] _next;
    private int _generated;

    public AutoregressiveSequence(int index, int[] prompt, ResolvedGenerationOptions resolved, IReadOnlyCollection<int> stopIds,
        long seed, ILanguageModel model)
        : base(index, resolved, stopIds, seed)
    {
        var config = model.Config;
        ValidatePrompt(index, prompt, config.VocabSize, maskTokenId: null);
        if (prompt.Length == 0)
            throw new ArgumentException($"prompt {index} is empty; autoregressive decoding needs at least one token to predict from");
        _vocabSize = config.VocabSize;
        _promptLength = prompt.Length;
        _next = (int[])prompt.Clone();
        // Room for the prompt and some answer; the model grows the cache if the answer runs long.
        _cache = new KvCache(config, prompt.Length + Math.Min(Options.MaxNewTokens, 64));
    }

    public override AttentionKind Attention => AttentionKind.Causal;
    public override int BlockLength => 1;

    public override SequenceInput NextInput() => new(_next, _cache, StoreKv: true, LogitsKind.Last);

    public override void Apply(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        if (logits.Length != _vocabSize)
            throw new InvalidOperationException($"model returned {logits.Length} logits for the last row; expected vocab {_vocabSize}");
        DenoiseForwards++;
        TotalForwards++;
        var sample = Sampler.Sample(logits, withEntropy: false);
        Trace?.Add(new DenoisingStepTrace(_generated, 0, [new CommittedToken(_promptLength + _generated, sample.TokenId, sample.Probability)]));
        _generated++;
        if (AcceptFinalTokens([sample.TokenId], chunks)) Finish(elapsed, chunks);
        else _next = [sample.TokenId];
    }
}
