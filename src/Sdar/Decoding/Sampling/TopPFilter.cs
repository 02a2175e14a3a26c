namespace Sdar.Decoding;

/// <summary>
/// Nucleus (top-p) as the official SDAR <c>top_p_logits</c>: ranks the candidates by probability and keeps a token
/// iff the mass of the tokens ranked strictly above it is &lt;= p (so the token that crosses p is kept).
/// </summary>
internal sealed class TopPFilter : IDrawFilter
{
    // Candidate thresholds (relative to the largest weight, which is 1): sorting only the tokens above a threshold
    // is exact once their mass exceeds p, and avoids sorting the whole 150k vocabulary.
    private static readonly float[] NucleusThresholds = [1e-2f, 1e-4f, 1e-6f, 1e-9f, 0f];

    private readonly double _p;

    public TopPFilter(double p)
    {
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "top_p must be in (0, 1]");
        _p = p;
    }

    public void Apply(ReadOnlySpan<float> logits, DrawCandidates candidates)
    {
        float[] w = candidates.Weights;
        var ranked = candidates.Ranked;
        double total = 0;
        if (candidates.IsRanked)
            foreach (int i in ranked) total += w[i];
        else
            foreach (float weight in w) total += weight;
        double budget = _p * total;

        if (!candidates.IsRanked)
        {
            // The tokens with weight >= threshold; once their mass exceeds the budget, the kept prefix lies
            // inside them: every other token ranks lower.
            foreach (float threshold in NucleusThresholds)
            {
                ranked.Clear();
                double mass = 0;
                for (int i = 0; i < w.Length; i++)
                {
                    if (w[i] > 0 && w[i] >= threshold)
                    {
                        ranked.Add(i);
                        mass += w[i];
                    }
                }
                if (mass > budget || threshold == 0) break;
            }
            ranked.Sort((a, b) => w[a] != w[b] ? w[b].CompareTo(w[a]) : a.CompareTo(b));
            candidates.MarkRanked();
        }

        int kept = 0;
        double keptMass = 0;
        foreach (int i in ranked)
        {
            if (keptMass > budget) break; // the mass ranked above i already exceeds p: i is filtered out
            keptMass += w[i];
            kept++;
        }
        candidates.KeepFirstRanked(kept);
    }
}
