namespace Sdar.Decoding;

/// <summary>
/// The last stage: one uniform number u in [0, Σw) picks the candidate whose cumulative weight first exceeds it,
/// walking the candidates in their order (id order, or the ranked order once a filter has ranked them).
/// Exactly one random number per draw, so the stream a seed gives does not depend on the filters.
/// </summary>
internal static class CategoricalDraw
{
    public static int Draw(DrawCandidates candidates, DeterministicRandom random)
    {
        float[] w = candidates.Weights;
        if (candidates.IsRanked)
        {
            var ranked = candidates.Ranked;
            double mass = 0;
            foreach (int i in ranked) mass += w[i];
            double u = random.NextDouble() * mass, cumulative = 0;
            foreach (int i in ranked)
            {
                cumulative += w[i];
                if (cumulative > u) return i;
            }
            return ranked[^1]; // rounding: u landed on the very end
        }

        double total = 0;
        foreach (float weight in w) total += weight;
        double v = random.NextDouble() * total, sum = 0;
        int last = -1;
        for (int i = 0; i < w.Length; i++)
        {
            if (w[i] <= 0) continue;
            sum += w[i];
            last = i;
            if (sum > v) return i;
        }
        return last;
    }
}
