namespace Sdar.Decoding;

/// <summary>
/// One draw from a row of logits: the token x0, its confidence p0 and, when asked, the entropy of the row's
/// full distribution (DESIGN section 4).
/// </summary>
/// <param name="TokenId">x0, the drawn token.</param>
/// <param name="Probability">
/// p0: the probability of x0 under softmax(logits after bias and penalties, divided by the temperature), before
/// the truncating filters (top-k, top-p, min-p); greedy uses temperature 1.
/// </param>
/// <param name="Entropy">Entropy in nats of that unfiltered distribution; NaN when not computed.</param>
public readonly record struct SampledToken(int TokenId, float Probability, float Entropy);

/// <summary>
/// Draws a token from one row of logits. Instances may hold an RNG, a penalty window and scratch space: one per
/// sequence, used by one thread at a time.
/// </summary>
public interface ITokenSampler
{
    /// <summary>Draws x0 from <paramref name="logits"/> (one vocabulary row); the row is not modified.</summary>
    /// <param name="withEntropy">Also compute the entropy of the full distribution (costs one more multiply per entry).</param>
    SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy);

    /// <summary>
    /// Tells the sampler that <paramref name="tokenId"/> became final (a committed block's tokens, an AR token), in
    /// order; the repetition, presence and frequency penalties look at these. Samplers without penalties ignore it.
    /// </summary>
    void Accept(int tokenId);
}

/// <summary>Builds the sampler an <see cref="GenerationOptions"/> asks for.</summary>
public static class TokenSamplers
{
    /// <summary>As <see cref="Create(GenerationOptions, long, ReadOnlySpan{int})"/> with an empty prompt.</summary>
    public static ITokenSampler Create(GenerationOptions options, long seed) => Create(options, seed, []);

    /// <summary>
    /// The chain of LLamaSharp's <c>DefaultSamplingPipeline</c>, in its order: logit bias, the repetition penalty,
    /// the presence and frequency penalties (all on the logits), then temperature, top-k, top-p, min-p and the draw.
    /// Temperature 0 draws the argmax of the biased and penalized logits instead (<see cref="GreedySampler"/>).
    /// Options that change nothing (no bias, no active penalty) leave the logits stage out, so the row is not even
    /// copied and the draws are exactly those of the plain samplers. <paramref name="prompt"/> seeds the penalty
    /// window; pass the options after <see cref="GenerationOptions.Resolve"/> has checked them.
    /// </summary>
    public static ITokenSampler Create(GenerationOptions options, long seed, ReadOnlySpan<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(options);
        ITokenSampler draw = options.Temperature == 0
            ? GreedySampler.Instance
            : new TemperatureSampler(options.Temperature, options.TopK, options.TopP, options.MinP, new DeterministicRandom(seed));

        var window = new PenaltyWindow(options.PenaltyLastN);
        var stages = new List<ILogitStage>();
        if (options.LogitBias is { Count: > 0 } bias) stages.Add(new LogitBiasStage(bias));
        if (!window.IsOff)
        {
            if (options.RepetitionPenalty != 1) stages.Add(new RepetitionPenaltyStage(options.RepetitionPenalty, window));
            if (options.PresencePenalty != 0 || options.FrequencyPenalty != 0)
                stages.Add(new PresenceAndFrequencyPenaltyStage(options.PresencePenalty, options.FrequencyPenalty, window));
        }
        if (stages.Count == 0) return draw;

        window.AddRange(prompt);
        return new AdjustedLogitsSampler(stages, window, draw);
    }
}
