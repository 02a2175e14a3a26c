using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Block diffusion decoding of one sequence, exactly as DESIGN section 4 / the official <c>block_diffusion_generate</c>:
/// prefill the prompt's full blocks; then per block, denoise (no K/V stored) until no position is masked, and
/// one more forward commits the final block's K/V to the cache. Blocks start where the prompt's full blocks end,
/// so the first one may begin with the prompt's tail, which is kept.
/// </summary>
internal sealed class DiffusionSequence : DecodingSequence
{
    private enum Phase { Prefill, Denoise, Commit }

    private readonly int _promptLength, _blockLength, _vocabSize;
    private readonly int[] _tokens;      // prompt, then the generated region (mask ids where still masked), nb*B long
    private readonly bool[] _masked;     // current block: positions not yet committed
    private readonly float[] _confidence, _entropy;
    private readonly List<int> _chosen = [];
    private readonly IReadOnlyList<int> _schedule;
    private readonly IUnmaskingStrategy _strategy;
    private readonly KvCache _cache;
    private Phase _phase;
    private int _block, _step;

    public DiffusionSequence(int index, int[] prompt, ResolvedGenerationOptions resolved, IReadOnlyCollection<int> stopIds,
        long seed, ILanguageModel model)
        : base(index, resolved, stopIds, seed)
    {
        var config = model.Config;
        ValidatePrompt(index, prompt, config.VocabSize, resolved.MaskTokenId);
        _vocabSize = config.VocabSize;
        _promptLength = prompt.Length;
        _blockLength = resolved.BlockLength;
        _schedule = resolved.StepSchedule;
        _strategy = UnmaskingStrategies.Create(Options);

        int blocks = (_promptLength + Options.MaxNewTokens + _blockLength - 1) / _blockLength;
        _tokens = new int[blocks * _blockLength];
        Array.Fill(_tokens, resolved.MaskTokenId);
        prompt.CopyTo(_tokens, 0);
        _masked = new bool[_blockLength];
        _confidence = new float[_blockLength];
        _entropy = new float[_blockLength];
        // Room for the prompt and a few blocks; the model grows the cache (doubling) if the answer runs long.
        // Reserving max_new_tokens up front would hold gigabytes per sequence for answers that stop early.
        _cache = new KvCache(config, Math.Min(_tokens.Length, _promptLength + 8 * _blockLength));

        _block = _promptLength / _blockLength;
        _phase = _block > 0 ? Phase.Prefill : Phase.Denoise;
        StartBlock();
    }

    public override AttentionKind Attention => AttentionKind.BlockCausal;
    public override int BlockLength => _blockLength;

    private int BlockStart => _block * _blockLength;

    public override SequenceInput NextInput() => _phase switch
    {
        Phase.Prefill => new SequenceInput(_tokens[..BlockStart], _cache, StoreKv: true, LogitsKind.None),
        Phase.Denoise => new SequenceInput(_tokens[BlockStart..(BlockStart + _blockLength)], _cache, StoreKv: false, LogitsKind.All),
        _ => new SequenceInput(_tokens[BlockStart..(BlockStart + _blockLength)], _cache, StoreKv: true, LogitsKind.None),
    };

    public override void Apply(float[] logits, TimeSpan elapsed, List<GeneratedChunk> chunks)
    {
        TotalForwards++;
        switch (_phase)
        {
            case Phase.Prefill:
                _phase = Phase.Denoise;
                break;
            case Phase.Denoise:
                DenoiseForwards++;
                Denoise(logits, chunks);
                break;
            case Phase.Commit:
                if (AnswerComplete) Finish(elapsed, chunks);
                else
                {
                    _block++;
                    StartBlock();
                    _phase = Phase.Denoise;
                }
                break;
        }
    }

    /// <summary>Masks the current block's positions past the prompt (the block's share of x = prompt + MASK...).</summary>
    private void StartBlock()
    {
        _step = 0;
        for (int i = 0; i < _blockLength; i++) _masked[i] = BlockStart + i >= _promptLength;
    }

    /// <summary>One denoising step: draw x0 at every masked position, let the strategy choose, commit the chosen.</summary>
    private void Denoise(float[] logits, List<GeneratedChunk> chunks)
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
            committed++;
            commits?.Add(new CommittedToken(BlockStart + i, drawn[i], _confidence[i]));
        }
        if (committed == 0)
            throw new InvalidOperationException($"unmasking strategy '{_strategy.Name}' chose no masked position at block {_block}, step {_step}");
        if (commits is not null) Trace!.Add(new DenoisingStepTrace(_block, _step, commits));
        _step++;

        if (Array.IndexOf(_masked, true) >= 0) return;
        // The block is final: stream its generated part now; its K/V still go to the cache in the commit forward
        // (which the official loop spends on every block, the last included, and the NFE counts).
        int from = Math.Max(BlockStart, _promptLength);
        AcceptFinalTokens(_tokens.AsSpan(from, BlockStart + _blockLength - from), chunks);
        _phase = Phase.Commit;
    }
}
