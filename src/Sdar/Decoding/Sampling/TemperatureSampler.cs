namespace Sdar.Decoding;

/// <summary>
/// The tempered half of the chain: weights from softmax(logits / T), then the truncating filters in HF's warper
/// order (top-k, top-p, min-p), then one seeded draw. The confidence p0 and the entropy are taken from the
/// unfiltered tempered softmax (DESIGN section 4): filters shape what may be drawn, not how sure the model is.
/// Top-k and top-p follow the official SDAR <c>top_k_logits</c> / <c>top_p_logits</c>.
/// </summary>
public sealed class TemperatureSampler : ITokenSampler
{
    private readonly float _inverseTemperature;
    private readonly IDrawFilter[] _filters;
    private readonly DeterministicRandom _random;
    private readonly DrawCandidates _candidates = new();

    public TemperatureSampler(double temperature, int topK, double topP, DeterministicRandom random)
        : this(temperature, topK, topP, minP: 0, random)
    {
    }

    /// <param name="topK">0 = off.</param>
    /// <param name="topP">1 = off.</param>
    /// <param name="minP">0 = off.</param>
    public TemperatureSampler(double temperature, int topK, double topP, double minP, DeterministicRandom random)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a finite number > 0 (use GreedySampler for 0)");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be >= 0");
        if (!(topP > 0 && topP <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), topP, "top_p must be in (0, 1]");
        if (!(minP >= 0 && minP <= 1)) throw new ArgumentOutOfRangeException(nameof(minP), minP, "min_p must be in [0, 1]");
        _inverseTemperature = (float)(1.0 / temperature);
        var filters = new List<IDrawFilter>();
        if (topK > 0) filters.Add(new TopKFilter(topK));
        if (topP < 1) filters.Add(new TopPFilter(topP));
        if (minP > 0) filters.Add(new MinPFilter(minP));
        _filters = [.. filters];
        _random = random ?? throw new ArgumentNullException(nameof(random));
    }

    public SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy)
    {
        var weights = _candidates.Reset(logits.Length);
        float max = LogitMath.Max(logits);
        var (sum, weighted) = LogitMath.ExpSums(logits, max, _inverseTemperature, withEntropy, weights);
        float entropy = withEntropy ? LogitMath.Entropy(sum, weighted) : float.NaN;

        foreach (var filter in _filters) filter.Apply(logits, _candidates);
        int token = CategoricalDraw.Draw(_candidates, _random);

        // p0 under the unfiltered tempered softmax: filters only zero the weights of tokens that cannot be drawn,
        // so weights[token] still holds exp((l - max) / T).
        return new SampledToken(token, (float)(weights[token] / sum), entropy);
    }

    /// <summary>Temperature sampling alone keeps no history (penalties live in <see cref="AdjustedLogitsSampler"/>).</summary>
    public void Accept(int tokenId) { }
}
