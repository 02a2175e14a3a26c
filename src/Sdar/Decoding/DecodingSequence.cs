using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// One sequence being generated: a small state machine that says what its next forward is
/// (<see cref="NextInput"/>) and digests that forward's logits (<see cref="Apply"/>). The engine runs the
/// scheduled sequences through one model forward per step; a sequence never sees the others.
/// <para>
/// The engine owns the KV cache and may replace it between forwards (an empty one after a preemption, or one that
/// starts with pages from the prefix cache). A sequence therefore derives what to feed from how many positions
/// the cache holds: positions it needs cached but are not are recomputed first (prefill, in chunks if the
/// engine's token budget asks), so a preempted sequence continues with exactly the tokens it would have produced.
/// </para>
/// This base class holds what diffusion and AR decoding share: the answer, stop handling, NFE, trace.
/// </summary>
internal abstract class DecodingSequence
{
    private readonly HashSet<int> _stopIds;
    private readonly int _maxNewTokens;
    private readonly List<int> _answer = [];
    private readonly List<TokenLogprob>? _logprobs;   // aligned with _answer when Options.Logprobs is set
    private readonly StopStringMatcher? _stopStrings;
    private readonly int _longestStopString;
    private readonly Func<IReadOnlyList<int>, string>? _decode;
    private StopReason? _stopReason;
    private int? _stopTokenId;
    private StopMatch? _stopMatch;
    private int _streamed;

    /// <param name="decode">The tokenizer's decoding, needed for <see cref="GenerationOptions.StopStrings"/>.</param>
    protected DecodingSequence(int index, ResolvedGenerationOptions resolved, IReadOnlyCollection<int> stopIds, long seed,
        ReadOnlySpan<int> prompt, Func<IReadOnlyList<int>, string>? decode)
    {
        Index = index;
        Options = resolved.Options;
        Seed = seed;
        _maxNewTokens = Options.MaxNewTokens;
        _stopIds = Options.IgnoreEos ? [] : [.. stopIds];
        // The prompt opens the penalty window; every answer token joins it as it becomes final (AcceptFinalTokens).
        Sampler = TokenSamplers.Create(Options, seed, prompt);
        Trace = Options.RecordTrace ? [] : null;
        _logprobs = Options.Logprobs is null ? null : [];
        var stops = Options.StopStrings ?? [];
        if (stops.Count > 0)
        {
            _decode = decode ?? throw new GenerationOptionException("stop", "a model with a tokenizer", "stop strings without one",
                $"prompt {index}: stop strings (stop) need the tokenizer's decoding; create the engine with a decode function (LoadedModel.CreateEngine does)");
            _stopStrings = new StopStringMatcher(stops, decode);
            _longestStopString = stops.Max(s => s.Length);
        }
    }

    public int Index { get; }

    /// <summary>The cache the engine assigned (see the class remarks); null while the sequence holds no memory.</summary>
    public KvCache? Cache { get; set; }

    /// <summary>Tokens by position so far (prompt, then what was generated), for the prefix cache's keys.</summary>
    public abstract ReadOnlySpan<int> PositionTokens { get; }

    /// <summary>Leading positions whose K/V depend on the prompt alone (the prefix cache may share them).</summary>
    public abstract int ShareableLength { get; }

    /// <summary>The most positions the sequence may ever cache (its KV need when alone).</summary>
    public abstract int MaxPositions { get; }

    /// <summary>The fewest tokens a forward of this sequence may carry (a token budget below it cannot schedule it).</summary>
    public abstract int MinTokensPerForward { get; }

    /// <summary>Answer tokens so far.</summary>
    public int AnswerLength => _answer.Count;
    public GenerationOptions Options { get; }
    public long Seed { get; }
    public bool IsFinished => Result is not null;
    public GenerationResult? Result { get; private set; }

    /// <summary>The attention of this sequence's forwards and B (forwards of a batch are grouped by both).</summary>
    public abstract AttentionKind Attention { get; }
    public abstract int BlockLength { get; }

    protected ITokenSampler Sampler { get; }
    protected List<DenoisingStepTrace>? Trace { get; }
    protected int DenoiseForwards { get; set; }
    protected int TotalForwards { get; set; }
    /// <summary>True once the answer is complete (stop id or length); the sequence may still owe a commit forward.</summary>
    protected bool AnswerComplete => _stopReason is not null;

    /// <summary>
    /// The next forward's input, carrying at most <paramref name="tokenBudget"/> tokens (a prefill is cut into
    /// chunks to fit), or null when the budget is too small for the next forward. Decoding state does not change
    /// until <see cref="Apply"/>, which digests the forward of the last input returned: the engine may drop an
    /// input (no memory for it) and ask again later.
    /// </summary>
    public abstract SequenceInput? NextInput(int tokenBudget);

    /// <summary>Consumes the logits of the forward built from <see cref="NextInput"/>; adds any stream chunks to <paramref name="chunks"/>.</summary>
    public abstract void Apply(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks);

    /// <summary>
    /// Appends tokens that became final, in order, to the answer: stops at the first stop id (not included), at
    /// MaxNewTokens, or right before the first stop string, and streams what was appended. With stop strings, the
    /// tokens whose text could still turn out to begin one are held back until more text shows they do not.
    /// Returns true when the answer is complete. <paramref name="logprobs"/> (when <see cref="GenerationOptions.Logprobs"/>
    /// is set) are the tokens' log-probabilities, in the same order.
    /// </summary>
    protected bool AcceptFinalTokens(ReadOnlySpan<int> tokens, List<GeneratedChunk> chunks, ReadOnlySpan<TokenLogprob> logprobs = default)
    {
        if (AnswerComplete) return true;
        if (_logprobs is not null && logprobs.Length != tokens.Length)
            throw new InvalidOperationException($"{tokens.Length} final tokens came with {logprobs.Length} logprobs");
        for (int t = 0; t < tokens.Length; t++)
        {
            int token = tokens[t];
            Sampler.Accept(token);
            if (_stopIds.Contains(token))
            {
                _stopReason = StopReason.StopToken;
                _stopTokenId = token;
                break;
            }
            _answer.Add(token);
            _logprobs?.Add(logprobs[t]);
            if (_answer.Count == _maxNewTokens)
            {
                _stopReason = StopReason.Length;
                break;
            }
        }
        if (_stopStrings?.Find(_answer) is { } match)
        {
            _answer.RemoveRange(match.KeepTokens, _answer.Count - match.KeepTokens);
            _logprobs?.RemoveRange(match.KeepTokens, _logprobs.Count - match.KeepTokens);
            _stopMatch = match;
            _stopReason = StopReason.StopString;
            _stopTokenId = null;
        }
        int streamTo = AnswerComplete ? _answer.Count : SafeToStream();
        if (streamTo > _streamed)
        {
            chunks.Add(new GeneratedChunk(Index, _answer.GetRange(_streamed, streamTo - _streamed).ToArray())
            {
                Logprobs = _logprobs?.GetRange(_streamed, streamTo - _streamed).ToArray(),
            });
            _streamed = streamTo;
        }
        return AnswerComplete;
    }

    /// <summary>
    /// Answer tokens no stop string can cut any more: a later match needs at least one character still to come, so
    /// it starts within the last (longest stop - 1) characters of today's text; tokens that end before that are safe.
    /// </summary>
    private int SafeToStream()
    {
        if (_stopStrings is null) return _answer.Count;
        int safeLength = _decode!(_answer).Length - (_longestStopString - 1);
        int n = _answer.Count;
        while (n > _streamed && _decode(_answer.GetRange(0, n)).Length > safeLength) n--;
        return n;
    }

    /// <summary>Ends the sequence: builds its result and streams the final chunk.</summary>
    protected void Finish(TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        Result = new GenerationResult
        {
            TokenIds = [.. _answer],
            StopReason = _stopReason ?? throw new InvalidOperationException("sequence finished before its answer was complete"),
            StopTokenId = _stopTokenId,
            StopString = _stopMatch?.StopString,
            Text = _stopMatch?.Text,
            Nfe = new NfeCount(DenoiseForwards, TotalForwards),
            Elapsed = elapsed,
            Seed = Seed,
            Trace = Trace,
            Logprobs = _logprobs?.ToArray(),
        };
        chunks.Add(new GeneratedChunk(Index, [], Result));
    }

    /// <summary>The committed token's log-probability from its logits row, when the options ask for them.</summary>
    protected TokenLogprob? LogprobOf(ReadOnlySpan<float> logitsRow, int tokenId) =>
        Options.Logprobs is int alternatives ? TokenLogprobs.Of(logitsRow, tokenId, alternatives) : null;

    /// <summary>Checks a prompt against the vocabulary, naming the request and position of a bad id.</summary>
    protected static void ValidatePrompt(int index, int[] prompt, int vocabSize, int? maskTokenId)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        for (int i = 0; i < prompt.Length; i++)
        {
            if (prompt[i] < 0 || prompt[i] >= vocabSize)
                throw new ArgumentException($"prompt {index}: token id {prompt[i]} at position {i} is outside the vocabulary 0..{vocabSize - 1}");
            if (prompt[i] == maskTokenId)
                throw new ArgumentException($"prompt {index}: position {i} holds the mask token id {maskTokenId}, which only the decoder may place");
        }
    }
}
