namespace Sdar.Decoding;

/// <summary>
/// min-p (Nguyen et al. 2024, HF <c>MinPLogitsWarper</c>): keeps the tokens whose probability is at least
/// min_p times the most likely candidate's. Both sides share the softmax normalizer, so the test is on weights.
/// Runs after top-p, on the tempered distribution, as in HF's warper order.
/// </summary>
internal sealed class MinPFilter : IDrawFilter
{
    private readonly double _minP;

    public MinPFilter(double minP)
    {
        if (!(minP > 0 && minP <= 1)) throw new ArgumentOutOfRangeException(nameof(minP), minP, "min_p must be in (0, 1] (leave the filter out for 0)");
        _minP = minP;
    }

    public void Apply(ReadOnlySpan<float> logits, DrawCandidates candidates)
    {
        float[] w = candidates.Weights;
        if (candidates.IsRanked)
        {
            var ranked = candidates.Ranked;
            double floor = _minP * w[ranked[0]];
            int kept = 1;
            while (kept < ranked.Count && w[ranked[kept]] >= floor) kept++;
            candidates.KeepFirstRanked(kept);
            return;
        }
        float max = 0;
        foreach (float weight in w) max = MathF.Max(max, weight);
        double threshold = _minP * max;
        for (int i = 0; i < w.Length; i++)
            if (w[i] < threshold) w[i] = 0;
    }
}
