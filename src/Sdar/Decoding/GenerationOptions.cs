using System.Globalization;
using Sdar.Config;

namespace Sdar.Decoding;

/// <summary>
/// The knobs of one generation (DESIGN section 4). Defaults are the paper's usual ones; <c>null</c> means
/// "take it from the model" (block length) or "derive it" (denoising steps = block length).
/// Errors are <see cref="GenerationOptionException"/>s whose <see cref="GenerationOptionException.Field"/> is the
/// knob's snake_case name in the official scripts and the OpenAI API.
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

    /// <summary>
    /// min-p filter when drawing (Nguyen et al. 2024, HF <c>MinPLogitsWarper</c>): keep only the tokens whose
    /// tempered probability is at least this times the most likely token's; applied after top-p; 0 = off.
    /// </summary>
    public double MinP { get; init; }

    /// <summary>
    /// Added to the logits of these token ids before anything else (OpenAI <c>logit_bias</c>, -100..100: -100
    /// all but bans a token, 100 all but forces it). Empty = off.
    /// </summary>
    public IReadOnlyDictionary<int, double> LogitBias { get; init; } = new Dictionary<int, double>();

    /// <summary>
    /// CTRL's repetition penalty as HF and llama.cpp apply it: a token in the penalty window has its logit divided
    /// by this when positive, multiplied when negative. 1 = off; above 1 discourages repeats.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>OpenAI <c>presence_penalty</c> (-2..2): subtracted once from the logit of every token in the penalty window. 0 = off.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>OpenAI <c>frequency_penalty</c> (-2..2): subtracted from a token's logit once per occurrence in the penalty window. 0 = off.</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>
    /// The penalty window: the last this many tokens of prompt + final answer tokens, as llama.cpp's
    /// <c>penalty_last_n</c>; 0 = no window (the penalties do nothing), -1 = every token.
    /// </summary>
    public int PenaltyLastN { get; init; } = DefaultPenaltyLastN;

    public const int DefaultPenaltyLastN = 64;

    /// <summary>Seed of the sampling RNG; null = a fresh random seed (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>Extra stop ids, added to the generator's defaults (the checkpoint's <c>generation_config.eos_token_id</c>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>
    /// Stop strings (OpenAI <c>stop</c>): the answer ends right before the first occurrence of any of them in the
    /// decoded text, which is not included (see <see cref="StopStringMatcher"/>). Empty = off.
    /// </summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Never stop at a stop id: generate exactly <see cref="MaxNewTokens"/> tokens.</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>
    /// Block diffusion: store a finished block's K/V in the next block's first denoising forward instead of a
    /// commit forward of its own, and skip the last block's commit (exact: the tokens are the same). False keeps
    /// the official loop's accounting, one commit forward per block.
    /// </summary>
    public bool FusedCommit { get; init; } = true;

    /// <summary>
    /// Report each answer token's log-probability (<see cref="GenerationResult.Logprobs"/>, and per streamed chunk)
    /// with this many of the most likely alternatives (0..<see cref="TokenLogprobs.MaxAlternatives"/>); null = off.
    /// See <see cref="TokenLogprobs"/> for which distribution.
    /// </summary>
    public int? Logprobs { get; init; }

    /// <summary>Record every denoising step's commits in <see cref="GenerationResult.Trace"/>.</summary>
    public bool RecordTrace { get; init; }

    /// <summary>The range OpenAI allows for <see cref="LogitBias"/> values.</summary>
    public const double MaxLogitBias = 100;

    /// <summary>The range OpenAI allows for <see cref="PresencePenalty"/> and <see cref="FrequencyPenalty"/>.</summary>
    public const double MaxPresenceOrFrequencyPenalty = 2;

    /// <summary>
    /// Checks every option against <paramref name="config"/> and resolves the derived values. With
    /// <paramref name="promptLength"/> (0 when the prompt is not known yet) it also checks that the prompt plus
    /// <see cref="MaxNewTokens"/> fit the model's context (<c>max_position_embeddings</c>) and that the KV cache and
    /// activations they need fit the machine's memory, so nothing is allocated for a request that cannot run.
    /// Throws <see cref="GenerationOptionException"/> naming the offending option and what was expected.
    /// </summary>
    public ResolvedGenerationOptions Resolve(ModelConfig config, int promptLength = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        Require(MaxNewTokens >= 1, "max_new_tokens", nameof(MaxNewTokens), "at least 1", MaxNewTokens);
        Require(double.IsFinite(Temperature) && Temperature >= 0, "temperature", nameof(Temperature),
            "a finite number >= 0 (0 = greedy)", Temperature);
        Require(TopK >= 0, "top_k", nameof(TopK), ">= 0 (0 = off)", TopK);
        Require(TopP > 0 && TopP <= 1, "top_p", nameof(TopP), "in (0, 1] (1 = off)", TopP);
        Require(MinP >= 0 && MinP <= 1, "min_p", nameof(MinP), "in [0, 1] (0 = off)", MinP);
        CheckPenalties(config);
        Require(Logprobs is null || (Logprobs >= 0 && Logprobs <= TokenLogprobs.MaxAlternatives), "top_logprobs", nameof(Logprobs),
            Invariant($"between 0 and {TokenLogprobs.MaxAlternatives} alternatives"), Logprobs);
        Require(ConfidenceThreshold > 0 && ConfidenceThreshold <= 1, "confidence_threshold", nameof(ConfidenceThreshold),
            "in (0, 1]", ConfidenceThreshold);
        Require(double.IsFinite(EbThreshold) && EbThreshold > 0, "eb_threshold", nameof(EbThreshold),
            "a finite number > 0", EbThreshold);
        foreach (int id in StopTokenIds ?? [])
            Require(id >= 0 && id < config.VocabSize, "stop_token_ids", nameof(StopTokenIds),
                Invariant($"token ids in 0..{config.VocabSize - 1}"), id);
        foreach (string? stop in StopStrings ?? [])
            Require(!string.IsNullOrEmpty(stop), "stop", nameof(StopStrings), "non-empty strings",
                stop is null ? "null" : "''");

        if (!config.IsDiffusion)
        {
            var autoregressive = new ResolvedGenerationOptions(this, BlockLength: 1, DenoisingSteps: 1, MaskTokenId: -1);
            return autoregressive with { RequiredBytes = CheckContext(config, promptLength, blockLength: 1) };
        }

        int blockLength = BlockLength ?? config.BlockSize;
        Require(BlockLength is null || BlockLength >= 1, "block_length", nameof(BlockLength), "at least 1", BlockLength);
        Require(blockLength >= 1, "block_length", nameof(BlockLength),
            "a block length, since the checkpoint's config.json has no usable block_size", "none",
            Invariant($"{Placeholder} is not set and the checkpoint's config.json has no usable block_size ({config.BlockSize})"));
        int steps = DenoisingSteps ?? blockLength;
        Require(steps >= 1 && steps <= blockLength, "denoising_steps", nameof(DenoisingSteps),
            Invariant($"between 1 and the block length {blockLength}"), steps);
        string known = string.Join(", ", UnmaskingStrategies.Names);
        Require(UnmaskingStrategies.IsKnown(Strategy), "remasking_strategy", nameof(Strategy), $"one of: {known}", $"'{Strategy}'",
            $"{Placeholder} '{Strategy}' is unknown; expected one of: {known}");
        Require(config.MaskTokenId is int m && m >= 0 && m < config.VocabSize, "model", "model",
            Invariant($"a checkpoint whose config.json has a mask_token_id in 0..{config.VocabSize - 1}"), config.MaskTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none",
            Invariant($"the checkpoint's config.json needs a mask_token_id in 0..{config.VocabSize - 1} for diffusion decoding; got {config.MaskTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}"));
        var resolved = new ResolvedGenerationOptions(this, blockLength, steps, config.MaskTokenId!.Value);
        return resolved with { RequiredBytes = CheckContext(config, promptLength, blockLength) };
    }

    /// <summary>Bias ids in the vocabulary with OpenAI's range; penalties in the ranges HF, llama.cpp and OpenAI use.</summary>
    private void CheckPenalties(ModelConfig config)
    {
        foreach (var (id, bias) in LogitBias ?? new Dictionary<int, double>())
        {
            Require(id >= 0 && id < config.VocabSize, "logit_bias", nameof(LogitBias),
                Invariant($"token ids in 0..{config.VocabSize - 1}"), id);
            Require(double.IsFinite(bias) && Math.Abs(bias) <= MaxLogitBias, "logit_bias", nameof(LogitBias),
                Invariant($"biases in [-{MaxLogitBias}, {MaxLogitBias}]"), Invariant($"{bias} for token {id}"));
        }
        Require(double.IsFinite(RepetitionPenalty) && RepetitionPenalty > 0, "repetition_penalty", nameof(RepetitionPenalty),
            "a finite number > 0 (1 = off)", RepetitionPenalty);
        Require(Math.Abs(PresencePenalty) <= MaxPresenceOrFrequencyPenalty, "presence_penalty", nameof(PresencePenalty),
            Invariant($"in [-{MaxPresenceOrFrequencyPenalty}, {MaxPresenceOrFrequencyPenalty}] (0 = off)"), PresencePenalty);
        Require(Math.Abs(FrequencyPenalty) <= MaxPresenceOrFrequencyPenalty, "frequency_penalty", nameof(FrequencyPenalty),
            Invariant($"in [-{MaxPresenceOrFrequencyPenalty}, {MaxPresenceOrFrequencyPenalty}] (0 = off)"), FrequencyPenalty);
        Require(PenaltyLastN >= -1, "penalty_last_n", nameof(PenaltyLastN), "at least -1 (-1 = every token, 0 = off)", PenaltyLastN);
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
        string prompt = promptLength > 0 ? Invariant($"the prompt ({promptLength} tokens) + ") : "";
        string rounding = positions != requested ? Invariant($", rounded up to whole blocks of {blockLength},") : "";
        string need = promptLength > 0 ? "need" : "needs";
        long mostNewTokens = (long)config.MaxPositionEmbeddings / blockLength * blockLength - promptLength;
        Require(positions <= config.MaxPositionEmbeddings, "max_new_tokens", nameof(MaxNewTokens),
            Invariant($"at most {Math.Max(0, mostNewTokens)}, for the prompt and the answer to fit the model's {config.MaxPositionEmbeddings} positions"),
            MaxNewTokens,
            Invariant($"{prompt}{Placeholder} {MaxNewTokens}{rounding} {need} {positions} positions, ") +
            Invariant($"but the model has {config.MaxPositionEmbeddings} (max_position_embeddings in config.json)"));
        // Attention runs one task per (sequence, KV head) on the model's workers; the default worker count (all
        // cores) bounds what a model built here uses unless it was given more threads than cores.
        int concurrentTasks = Math.Min(Model.Kernels.KernelSettings.Default.Threads, config.NumKeyValueHeads);
        long required = ModelMemory.GenerationBytes(config, positions, prefillTokens: Math.Max(promptLength, blockLength),
            logitRows: blockLength, concurrentTasks);
        long available = ModelMemory.AvailableBytes();
        Require(required <= available, "max_new_tokens", nameof(MaxNewTokens),
            Invariant($"a length whose KV cache and activations fit the {available} bytes available"), MaxNewTokens,
            Invariant($"{prompt}{Placeholder} {MaxNewTokens} {need} up to {required} bytes for the KV cache and activations ") +
            Invariant($"({positions} positions), but this machine has {available} bytes available"));
        return required;
    }

    private const string Placeholder = GenerationOptionException.OptionPlaceholder;

    /// <summary>
    /// Throws a <see cref="GenerationOptionException"/> for <paramref name="field"/> unless <paramref name="condition"/>;
    /// the message is "Property (field) must be expected; got given" unless <paramref name="template"/> words it.
    /// </summary>
    private static void Require(bool condition, string field, string property, string expected, object? given, string? template = null)
    {
        if (condition) return;
        string givenText = given switch
        {
            null => "none",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => given.ToString() ?? "",
        };
        throw new GenerationOptionException(field, expected, givenText, template ?? $"{Placeholder} must be {expected}; got {givenText}",
            $"{property} ({field})");
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}

/// <summary>Options after validation, with the model-dependent values filled in.</summary>
public sealed record ResolvedGenerationOptions(GenerationOptions Options, int BlockLength, int DenoisingSteps, int MaskTokenId)
{
    /// <summary>The most memory the request needs besides the weights (KV cache and activations), in bytes.</summary>
    public long RequiredBytes { get; init; }

    /// <summary>Tokens committed at each denoising step, see <see cref="Decoding.StepSchedule"/>.</summary>
    public IReadOnlyList<int> StepSchedule { get; } = Decoding.StepSchedule.Build(BlockLength, DenoisingSteps);
}
