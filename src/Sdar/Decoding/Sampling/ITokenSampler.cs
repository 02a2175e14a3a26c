namespace Sdar.Decoding;

/// <summary>
/// One draw from a row of logits: the token x0, its confidence p0 and, when asked, the entropy of the row's
/// full distribution (DESIGN section 4).
/// </summary>
/// <param name="TokenId">x0, the drawn token.</param>
/// <param name="Probability">p0: the probability of x0 under the unfiltered (tempered) softmax.</param>
/// <param name="Entropy">Entropy in nats of that unfiltered distribution; NaN when not computed.</param>
public readonly record struct SampledToken(int TokenId, float Probability, float Entropy);

/// <summary>Draws a token from one row of logits. Instances may hold an RNG and scratch space: one per sequence.</summary>
public interface ITokenSampler
{
    /// <summary>Draws x0 from <paramref name="logits"/> (one vocabulary row).</summary>
    /// <param name="withEntropy">Also compute the entropy of the full distribution (costs one more multiply per entry).</param>
    SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy);
}

/// <summary>Builds the sampler an <see cref="GenerationOptions"/> asks for.</summary>
public static class TokenSamplers
{
    /// <summary>Temperature 0 gives <see cref="GreedySampler"/>; otherwise a seeded <see cref="TemperatureSampler"/>.</summary>
    public static ITokenSampler Create(GenerationOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Temperature == 0
            ? GreedySampler.Instance
            : new TemperatureSampler(options.Temperature, options.TopK, options.TopP, new DeterministicRandom(seed));
    }
}
