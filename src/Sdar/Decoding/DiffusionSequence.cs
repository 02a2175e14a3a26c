using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Block diffusion decoding of one sequence, exactly as DESIGN section 4 / the official <c>block_diffusion_generate</c>:
/// prefill the prompt's full blocks; then per block, denoise (no K/V stored) until no position is masked, then
/// store the final block's K/V. Blocks start where the prompt's full blocks end, so the first one may begin with
/// the prompt's tail, which is kept.
/// <para>
/// Storing a finished block: the official loop spends one forward on it (a "commit", every block, the last
/// included). With <see cref="GenerationOptions.FusedCommit"/> the finished block instead rides along at the front
/// of the next block's first denoising forward (its K/V stored, no logits for it): block k's queries never see
/// block k+1, so its K/V are the same numbers, and the last block needs no commit at all.
/// </para>
/// </summary>
internal sealed class DiffusionSequence : DecodingSequence
{
    private enum Feed { Prefill, Denoise }

    private readonly int _promptLength, _blockLength, _vocabSize;
    private readonly int[] _tokens;      // prompt, then the generated region (mask ids where still masked), nb*B long
    private readonly bool[] _masked;     // current block: positions not yet committed
    private readonly float[] _confidence, _entropy;
    private readonly TokenLogprob?[] _logprobs;   // current block: each position's logprob at the step that committed it
    private readonly List<int> _chosen = [];
    private readonly IReadOnlyList<int> _schedule;
    private readonly IUnmaskingStrategy _strategy;
    private readonly bool _fusedCommit;
    private int _block, _step;
    private bool _previousBlockUnstored;   // fused commit: the finished previous block's K/V go with this block's first forward
    private bool _finishing;               // separate commit: the answer is complete, the final block's commit is still owed
    private Feed _lastFeed;

    public DiffusionSequence(int index, int[] prompt, ResolvedGenerationOptions resolved, IReadOnlyCollection<int> stopIds,
        long seed, ILanguageModel model, Func<IReadOnlyList<int>, string>? decode = null)
        : base(index, resolved, stopIds, seed, prompt, decode)
    {
        var config = model.Config;
        ValidatePrompt(index, prompt, config.VocabSize, resolved.MaskTokenId);
        _vocabSize = config.VocabSize;
        _promptLength = prompt.Length;
        _blockLength = resolved.BlockLength;
        _schedule = resolved.StepSchedule;
        _strategy = UnmaskingStrategies.Create(Options);
        _fusedCommit = Options.FusedCommit;

        int blocks = (_promptLength + Options.MaxNewTokens + _blockLength - 1) / _blockLength;
        _tokens = new int[blocks * _blockLength];
        Array.Fill(_tokens, resolved.MaskTokenId);
        prompt.CopyTo(_tokens, 0);
        _masked = new bool[_blockLength];
        _confidence = new float[_blockLength];
        _entropy = new float[_blockLength];
        _logprobs = new TokenLogprob?[_blockLength];

        _block = _promptLength / _blockLength;
        StartBlock();
    }

    public override AttentionKind Attention => AttentionKind.BlockCausal;
    public override int BlockLength => _blockLength;
    public override ReadOnlySpan<int> PositionTokens => _tokens;
    public override int ShareableLength => _promptLength / _blockLength * _blockLength;
    public override int MaxPositions => _tokens.Length;
    public override int MinTokensPerForward => _fusedCommit ? 2 * _blockLength : _blockLength;

    private int BlockStart => _block * _blockLength;

    /// <summary>Positions that must be cached before the next denoising forward (or before finishing).</summary>
    private int CachedPositionsNeeded =>
        _finishing ? BlockStart + _blockLength : _previousBlockUnstored ? BlockStart - _blockLength : BlockStart;

    public override SequenceInput? NextInput(int tokenBudget)
    {
        var cache = Cache ?? throw new InvalidOperationException("the engine assigns a KV cache before the first forward");
        int cached = cache.Length, needed = CachedPositionsNeeded;
        if (cached % _blockLength != 0 || cached > needed)
            throw new InvalidOperationException($"KV cache holds {cached} positions; block diffusion with B={_blockLength} needs whole blocks up to {needed}");
        if (cached < needed)
        {
            // Prefill (the prompt's full blocks, a committed block, or what a preemption dropped), whole blocks at a time.
            int chunk = Math.Min(needed - cached, tokenBudget / _blockLength * _blockLength);
            if (chunk <= 0) return null;
            _lastFeed = Feed.Prefill;
            return Input(_tokens[cached..(cached + chunk)], storeKv: true, LogitsKind.None);
        }
        _lastFeed = Feed.Denoise;
        if (_previousBlockUnstored)
        {
            if (tokenBudget < 2 * _blockLength) return null;
            return Input(_tokens[(BlockStart - _blockLength)..(BlockStart + _blockLength)], storeKv: true, LogitsKind.Unstored) with { StoredPrefix = _blockLength };
        }
        if (tokenBudget < _blockLength) return null;
        return Input(_tokens[BlockStart..(BlockStart + _blockLength)], storeKv: false, LogitsKind.All);
    }

    private SequenceInput Input(int[] tokens, bool storeKv, LogitsKind logits) =>
        new(tokens, Cache!, storeKv, logits) { Attention = AttentionKind.BlockCausal, BlockLength = _blockLength };

    public override void Apply(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        TotalForwards++;
        if (_lastFeed == Feed.Prefill)
        {
            if (_finishing && Cache!.Length == CachedPositionsNeeded) Finish(elapsed, chunks);
            return;
        }
        _previousBlockUnstored = false;
        DenoiseForwards++;
        Denoise(logits, elapsed, chunks);
    }

    /// <summary>Masks the current block's positions past the prompt (the block's share of x = prompt + MASK...).</summary>
    private void StartBlock()
    {
        _step = 0;
        for (int i = 0; i < _blockLength; i++) _masked[i] = BlockStart + i >= _promptLength;
    }

    /// <summary>One denoising step: draw x0 at every masked position, let the strategy choose, commit the chosen.</summary>
    private void Denoise(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        if (logits.Length != _blockLength * _vocabSize)
            throw new InvalidOperationException($"model returned {logits.Length} logits for a block of {_blockLength} x vocab {_vocabSize}");
        bool needsEntropy = _strategy.NeedsEntropy;
        var drawn = new int[_blockLength];
        for (int i = 0; i < _blockLength; i++)
        {
            if (!_masked[i])
            {
                // Committed and prompt positions take no part: -inf confidence, and they are never overwritten.
                _confidence[i] = float.NegativeInfinity;
                _entropy[i] = float.PositiveInfinity;
                continue;
            }
            var sample = Sampler.Sample(logits.AsSpan(i * _vocabSize, _vocabSize), needsEntropy);
            drawn[i] = sample.TokenId;
            _confidence[i] = sample.Probability;
            _entropy[i] = sample.Entropy;
        }

        // Past S steps only a strategy that ignores the schedule (entropy_bounded) still has masks left.
        int count = _schedule[Math.Min(_step, _schedule.Count - 1)];
        _chosen.Clear();
        _strategy.Choose(new UnmaskingStep(_masked, _confidence, needsEntropy ? _entropy : [], count), _chosen);

        var commits = Trace is null ? null : new List<CommittedToken>(_chosen.Count);
        int committed = 0;
        foreach (int i in _chosen)
        {
            if (i < 0 || i >= _blockLength || !_masked[i]) continue;
            _tokens[BlockStart + i] = drawn[i];
            _masked[i] = false;
            _logprobs[i] = LogprobOf(logits.AsSpan(i * _vocabSize, _vocabSize), drawn[i]);
            committed++;
            commits?.Add(new CommittedToken(BlockStart + i, drawn[i], _confidence[i]));
        }
        if (committed == 0)
            throw new InvalidOperationException($"unmasking strategy '{_strategy.Name}' chose no masked position at block {_block}, step {_step}");
        if (commits is not null) Trace!.Add(new DenoisingStepTrace(_block, _step, commits));
        _step++;

        if (Array.IndexOf(_masked, true) >= 0) return;
        // The block is final: stream its generated part now. Its K/V still go to the cache: in a commit forward of
        // their own (the official loop, which spends one on every block, the last included), or fused with the
        // next block's first forward, where a complete answer owes nothing.
        int from = Math.Max(BlockStart, _promptLength);
        int length = BlockStart + _blockLength - from;
        var logprobs = Options.Logprobs is null ? default : _logprobs.AsSpan(from - BlockStart, length).ToArray().Select(l => l!).ToArray();
        bool complete = AcceptFinalTokens(_tokens.AsSpan(from, length), chunks, logprobs);
        if (complete && _fusedCommit) Finish(elapsed, chunks);
        else if (complete) _finishing = true;
        else
        {
            _block++;
            StartBlock();
            _previousBlockUnstored = _fusedCommit;
        }
    }
}
