namespace Sdar.Decoding;

/// <summary>
/// Draws x0 from softmax(logits / T) after optional top-k and top-p filtering, while the confidence p0 and the
/// entropy are taken from the unfiltered tempered softmax (DESIGN section 4): filters shape what may be drawn, not
/// how sure the model is. Filtering follows the official SDAR <c>top_k_logits</c> / <c>top_p_logits</c>:
/// top-k keeps every logit >= the k-th largest; top-p then keeps a token iff the probability mass of the tokens
/// ranked strictly above it is &lt;= p (so the token that crosses p is kept).
/// </summary>
public sealed class TemperatureSampler : ITokenSampler
{
    // Candidate thresholds for top-p (relative to the largest weight, which is 1): sorting only the tokens above
    // a threshold is exact once their mass exceeds p, and avoids sorting the whole 150k vocabulary.
    private static readonly float[] NucleusThresholds = [1e-2f, 1e-4f, 1e-6f, 1e-9f, 0f];

    private readonly float _inverseTemperature;
    private readonly int _topK;
    private readonly double _topP;
    private readonly DeterministicRandom _random;
    private float[] _weights = [];
    private readonly List<int> _candidates = [];
    private readonly PriorityQueue<float, float> _topKHeap = new();

    public TemperatureSampler(double temperature, int topK, double topP, DeterministicRandom random)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a finite number > 0 (use GreedySampler for 0)");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be >= 0");
        if (!(topP > 0 && topP <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), topP, "top_p must be in (0, 1]");
        _inverseTemperature = (float)(1.0 / temperature);
        _topK = topK;
        _topP = topP;
        _random = random ?? throw new ArgumentNullException(nameof(random));
    }

    public SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy)
    {
        int vocab = logits.Length;
        if (_weights.Length != vocab) _weights = new float[vocab];
        var weights = _weights.AsSpan();

        float max = LogitMath.Max(logits);
        var (sum, weighted) = LogitMath.ExpSums(logits, max, _inverseTemperature, withEntropy, weights);
        float entropy = withEntropy ? LogitMath.Entropy(sum, weighted) : float.NaN;

        int token;
        if (_topK > 0 && _topK < vocab)
            ApplyTopK(logits, weights);
        if (_topP < 1)
            token = DrawFromNucleus(weights);
        else
            token = DrawFromAll(weights);

        // p0 under the unfiltered tempered softmax; the weight of x0 may have been zeroed only if it was filtered,
        // and a filtered token is never drawn, so weights[token] still holds exp((l - max) / T).
        return new SampledToken(token, (float)(weights[token] / sum), entropy);
    }

    /// <summary>Zeroes the weight of every logit below the k-th largest (ties with it are kept, as in torch).</summary>
    private void ApplyTopK(ReadOnlySpan<float> logits, Span<float> weights)
    {
        // A min-heap of the k largest logits seen so far: its top is the k-th largest.
        var heap = _topKHeap;
        heap.Clear();
        foreach (float l in logits)
        {
            if (heap.Count < _topK) heap.Enqueue(l, l);
            else if (l > heap.Peek()) heap.EnqueueDequeue(l, l);
        }
        float kth = heap.Peek();
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] < kth) weights[i] = 0;
    }

    private int DrawFromAll(ReadOnlySpan<float> weights)
    {
        double total = 0;
        foreach (float weight in weights) total += weight;
        double u = _random.NextDouble() * total, cumulative = 0;
        int last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            cumulative += weights[i];
            last = i;
            if (cumulative > u) return i;
        }
        return last; // rounding: u landed on the very end
    }

    private int DrawFromNucleus(Span<float> weights)
    {
        double total = 0;
        foreach (float weight in weights) total += weight;
        double budget = _topP * total;

        // Candidates: the tokens with weight >= threshold, in descending weight order (lower id first on ties).
        // Once their mass exceeds the budget, the kept prefix lies inside them: every other token ranks lower.
        var candidates = _candidates;
        foreach (float threshold in NucleusThresholds)
        {
            candidates.Clear();
            double mass = 0;
            for (int i = 0; i < weights.Length; i++)
            {
                if (weights[i] > 0 && weights[i] >= threshold)
                {
                    candidates.Add(i);
                    mass += weights[i];
                }
            }
            if (mass > budget || threshold == 0) break;
        }
        float[] w = _weights;
        candidates.Sort((a, b) => w[a] != w[b] ? w[b].CompareTo(w[a]) : a.CompareTo(b));

        int kept = 0;
        double keptMass = 0;
        foreach (int i in candidates)
        {
            if (keptMass > budget) break; // the mass ranked above i already exceeds p: i is filtered out
            keptMass += w[i];
            kept++;
        }

        double u = _random.NextDouble() * keptMass, cumulative = 0;
        for (int k = 0; k < kept; k++)
        {
            cumulative += w[candidates[k]];
            if (cumulative > u) return candidates[k];
        }
        return candidates[kept - 1];
    }
}
