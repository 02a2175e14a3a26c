namespace Sdar.Decoding;

/// <summary>
/// <c>low_confidence_dynamic</c> (the paper's dynamic decoding): every masked position whose confidence is above
/// the threshold; when fewer than n_step[s] are, the n_step[s] most confident instead, so a block still finishes
/// within S steps. This is what cuts forward passes 2.3-2.6x against static decoding (DESIGN section 1, claim 2).
/// </summary>
public sealed class LowConfidenceDynamicStrategy : IUnmaskingStrategy
{
    public const string StrategyName = "low_confidence_dynamic";
    private readonly float _threshold;

    public LowConfidenceDynamicStrategy(double threshold)
    {
        if (!(threshold > 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "confidence_threshold must be in (0, 1]");
        // The official code compares a float32 tensor with the threshold, i.e. in float32.
        _threshold = (float)threshold;
    }

    public string Name => StrategyName;
    public bool NeedsEntropy => false;
    public double Threshold => _threshold;

    public void Choose(UnmaskingStep scores, List<int> chosen)
    {
        for (int i = 0; i < scores.Masked.Length; i++)
            if (scores.Masked[i] && scores.Confidence[i] > _threshold) chosen.Add(i);
        if (chosen.Count >= scores.Count) return;
        chosen.Clear();
        Ranking.TopMasked(scores.Masked, scores.Confidence, scores.Count, chosen);
    }
}
