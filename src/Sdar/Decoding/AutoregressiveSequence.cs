using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Ordinary AR decoding of one sequence (<c>qwen3</c> checkpoints): the prefill forward's last row predicts the
/// first new token (logit at i predicts token i+1 in AR mode), then each sampled token is fed back, one forward
/// per token, storing its K/V. The last sampled token is never fed, so N tokens cost N forwards (a prompt longer
/// than the engine's token budget is prefilled in chunks first, which produce no logits).
/// </summary>
internal sealed class AutoregressiveSequence : DecodingSequence
{
    private readonly List<int> _tokens;   // prompt, then the sampled tokens
    private readonly int _promptLength, _vocabSize;

    public AutoregressiveSequence(int index, int[] prompt, ResolvedGenerationOptions resolved, IReadOnlyCollection<int> stopIds,
        long seed, ILanguageModel model, Func<IReadOnlyList<int>, string>? decode = null)
        : base(index, resolved, stopIds, seed, prompt, decode)
    {
        var config = model.Config;
        ValidatePrompt(index, prompt, config.VocabSize, maskTokenId: null);
        if (prompt.Length == 0)
            throw new ArgumentException($"prompt {index} is empty; autoregressive decoding needs at least one token to predict from");
        _vocabSize = config.VocabSize;
        _promptLength = prompt.Length;
        _tokens = new List<int>(prompt.Length + Math.Min(Options.MaxNewTokens, 256));
        _tokens.AddRange(prompt);
    }

    public override AttentionKind Attention => AttentionKind.Causal;
    public override int BlockLength => 1;
    public override ReadOnlySpan<int> PositionTokens => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens);
    // The last prompt token is always fed, so that its row predicts the first answer token.
    public override int ShareableLength => _promptLength - 1;
    public override int MaxPositions => _promptLength + Options.MaxNewTokens;
    public override int MinTokensPerForward => 1;

    public override SequenceInput? NextInput(int tokenBudget)
    {
        var cache = Cache ?? throw new InvalidOperationException("the engine assigns a KV cache before the first forward");
        int cached = cache.Length, pending = _tokens.Count - cached;
        if (pending <= 0) throw new InvalidOperationException($"KV cache holds {cached} positions of a sequence of {_tokens.Count}");
        if (tokenBudget <= 0) return null;
        bool last = pending <= tokenBudget;
        var tokens = _tokens.GetRange(cached, last ? pending : tokenBudget).ToArray();
        return new SequenceInput(tokens, cache, StoreKv: true, last ? LogitsKind.Last : LogitsKind.None);
    }

    public override void Apply(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        TotalForwards++;
        if (logits.Length == 0) return;   // a prefill chunk
        if (logits.Length != _vocabSize)
            throw new InvalidOperationException($"model returned {logits.Length} logits for the last row; expected vocab {_vocabSize}");
        DenoiseForwards++;
        int generated = _tokens.Count - _promptLength;
        var sample = Sampler.Sample(logits, withEntropy: false);
        Trace?.Add(new DenoisingStepTrace(generated, 0, [new CommittedToken(_promptLength + generated, sample.TokenId, sample.Probability)]));
        var logprob = LogprobOf(logits, sample.TokenId);
        if (AcceptFinalTokens([sample.TokenId], chunks, logprob is null ? default : [logprob])) Finish(elapsed, chunks);
        else _tokens.Add(sample.TokenId);
    }
}
