namespace Sdar.Decoding;

/// <summary>
/// Temperature 0: x0 = argmax, p0 = softmax(logits)[x0] (temperature-free, unfiltered), the semantics the golden
/// cases were computed with. Stateless, so one instance serves every sequence.
/// </summary>
public sealed class GreedySampler : ITokenSampler
{
    public static GreedySampler Instance { get; } = new();

    public SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy)
    {
        int token = LogitMath.ArgMax(logits, out float max);
        var (sum, weighted) = LogitMath.ExpSums(logits, max, 1f, withEntropy, []);
        // The argmax has e = exp(0) = 1, so its probability is 1 / Σe.
        return new SampledToken(token, (float)(1.0 / sum), withEntropy ? LogitMath.Entropy(sum, weighted) : float.NaN);
    }

    /// <summary>Greedy decoding keeps no history (penalties live in <see cref="AdjustedLogitsSampler"/>).</summary>
    public void Accept(int tokenId) { }
}
