using Sdar.Config;

namespace Sdar.Decoding;

/// <summary>
/// The knobs of one generation (DESIGN section 4). Defaults are the paper's usual ones; <c>null</c> means
/// "take it from the model" (block length) or "derive it" (denoising steps = block length).
/// The snake_case name in each error message is the knob's name in the official scripts and our CLI.
/// </summary>
public sealed record GenerationOptions
{
    public const string DefaultStrategy = "low_confidence_dynamic";

    /// <summary>Most tokens to generate (the official <c>gen_length</c>).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>B, tokens per diffusion block; null = the checkpoint's <c>block_size</c>. Ignored by AR models.</summary>
    public int? BlockLength { get; init; }

    /// <summary>S, the step budget per block (1..B); null = B. Ignored by AR models.</summary>
    public int? DenoisingSteps { get; init; }

    /// <summary>Unmasking (the official "remasking") strategy, see <see cref="UnmaskingStrategies.Names"/>.</summary>
    public string Strategy { get; init; } = DefaultStrategy;

    /// <summary>low_confidence_dynamic: commit every masked position whose confidence is above this.</summary>
    public double ConfidenceThreshold { get; init; } = 0.9;

    /// <summary>entropy_bounded: the entropy budget of one step (nats).</summary>
    public double EbThreshold { get; init; } = 0.35;

    /// <summary>Softmax temperature; 0 = greedy (argmax, no randomness).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens when drawing; 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus filter when drawing: keep the most likely tokens up to this cumulative probability; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling RNG; null = a fresh random seed (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>Extra stop ids, added to the generator's defaults (the checkpoint's <c>generation_config.eos_token_id</c>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Never stop at a stop id: generate exactly <see cref="MaxNewTokens"/> tokens.</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>
    /// Block diffusion: store a finished block's K/V in the next block's first denoising forward instead of a
    /// commit forward of its own, and skip the last block's commit (exact: the tokens are the same). False keeps
    /// the official loop's accounting, one commit forward per block.
    /// </summary>
    public bool FusedCommit { get; init; } = true;

    /// <summary>Record every denoising step's commits in <see cref="GenerationResult.Trace"/>.</summary>
    public bool RecordTrace { get; init; }

    /// <summary>
    /// Checks every option against <paramref name="config"/> and resolves the derived values. With
    /// <paramref name="promptLength"/> (0 when the prompt is not known yet) it also checks that the prompt plus
    /// <see cref="MaxNewTokens"/> fit the model's context (<c>max_position_embeddings</c>) and that the KV cache and
    /// activations they need fit the machine's memory, so nothing is allocated for a request that cannot run.
    /// Throws <see cref="ArgumentException"/> naming the offending option and what was expected.
    /// </summary>
    public ResolvedGenerationOptions Resolve(ModelConfig config, int promptLength = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        Require(MaxNewTokens >= 1, $"MaxNewTokens (max_new_tokens) must be at least 1; got {MaxNewTokens}");
        Require(double.IsFinite(Temperature) && Temperature >= 0,
            $"Temperature (temperature) must be a finite number >= 0 (0 = greedy); got {Temperature}");
        Require(TopK >= 0, $"TopK (top_k) must be >= 0 (0 = off); got {TopK}");
        Require(TopP > 0 && TopP <= 1, $"TopP (top_p) must be in (0, 1] (1 = off); got {TopP}");
        Require(ConfidenceThreshold > 0 && ConfidenceThreshold <= 1,
            $"ConfidenceThreshold (confidence_threshold) must be in (0, 1]; got {ConfidenceThreshold}");
        Require(double.IsFinite(EbThreshold) && EbThreshold > 0,
            $"EbThreshold (eb_threshold) must be a finite number > 0; got {EbThreshold}");
        foreach (int id in StopTokenIds ?? [])
            Require(id >= 0 && id < config.VocabSize,
                $"StopTokenIds (stop_token_ids) must be token ids in 0..{config.VocabSize - 1}; got {id}");

        if (!config.IsDiffusion)
        {
            var autoregressive = new ResolvedGenerationOptions(this, BlockLength: 1, DenoisingSteps: 1, MaskTokenId: -1);
            return autoregressive with { RequiredBytes = CheckContext(config, promptLength, blockLength: 1) };
        }

        int blockLength = BlockLength ?? config.BlockSize;
        Require(BlockLength is null || BlockLength >= 1, $"BlockLength (block_length) must be at least 1; got {BlockLength}");
        Require(blockLength >= 1,
            $"BlockLength (block_length) is not set and the checkpoint's config.json has no usable block_size ({config.BlockSize})");
        int steps = DenoisingSteps ?? blockLength;
        Require(steps >= 1 && steps <= blockLength,
            $"DenoisingSteps (denoising_steps) must be between 1 and the block length {blockLength}; got {steps}");
        Require(UnmaskingStrategies.IsKnown(Strategy),
            $"Strategy (remasking_strategy) '{Strategy}' is unknown; expected one of: {string.Join(", ", UnmaskingStrategies.Names)}");
        Require(config.MaskTokenId is int m && m >= 0 && m < config.VocabSize,
            $"the checkpoint's config.json needs a mask_token_id in 0..{config.VocabSize - 1} for diffusion decoding; got {config.MaskTokenId?.ToString() ?? "none"}");
        var resolved = new ResolvedGenerationOptions(this, blockLength, steps, config.MaskTokenId!.Value);
        return resolved with { RequiredBytes = CheckContext(config, promptLength, blockLength) };
    }

    /// <summary>
    /// The prompt and the answer must fit the model's positions: the answer region of block diffusion is whole
    /// blocks, so prompt + max_new_tokens is rounded up to the block length first. Returns the memory the request
    /// needs at most (see <see cref="ModelMemory.GenerationBytes"/>), after checking it against the machine's.
    /// </summary>
    private long CheckContext(ModelConfig config, int promptLength, int blockLength)
    {
        long requested = (long)promptLength + MaxNewTokens;
        long positions = (requested + blockLength - 1) / blockLength * blockLength;
        string prompt = promptLength > 0 ? $"the prompt ({promptLength} tokens) + " : "";
        string rounding = positions != requested ? $", rounded up to whole blocks of {blockLength}," : "";
        string need = promptLength > 0 ? "need" : "needs";
        Require(positions <= config.MaxPositionEmbeddings,
            $"{prompt}MaxNewTokens (max_new_tokens) {MaxNewTokens}{rounding} {need} {positions} positions, " +
            $"but the model has {config.MaxPositionEmbeddings} (max_position_embeddings in config.json)");
        int concurrentTasks = Math.Min(Model.Kernels.MatMul.Threads, config.NumKeyValueHeads);
        long required = ModelMemory.GenerationBytes(config, positions, prefillTokens: Math.Max(promptLength, blockLength),
            logitRows: blockLength, concurrentTasks);
        long available = ModelMemory.AvailableBytes();
        Require(required <= available,
            $"{prompt}MaxNewTokens (max_new_tokens) {MaxNewTokens} {need} up to {required} bytes for the KV cache and activations " +
            $"({positions} positions), but this machine has {available} bytes available");
        return required;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}

/// <summary>Options after validation, with the model-dependent values filled in.</summary>
public sealed record ResolvedGenerationOptions(GenerationOptions Options, int BlockLength, int DenoisingSteps, int MaskTokenId)
{
    /// <summary>The most memory the request needs besides the weights (KV cache and activations), in bytes.</summary>
    public long RequiredBytes { get; init; }

    /// <summary>Tokens committed at each denoising step, see <see cref="Decoding.StepSchedule"/>.</summary>
    public IReadOnlyList<int> StepSchedule { get; } = Decoding.StepSchedule.Build(BlockLength, DenoisingSteps);
}
