namespace Sdar.Decoding;

/// <summary><c>low_confidence_static</c>: the n_step[s] most confident masked positions, so a block takes exactly S steps.</summary>
public sealed class LowConfidenceStaticStrategy : IUnmaskingStrategy
{
    public const string StrategyName = "low_confidence_static";
    public string Name => StrategyName;
    public bool NeedsEntropy => false;

    public void Choose(UnmaskingStep scores, List<int> chosen) =>
        Ranking.TopMasked(scores.Masked, scores.Confidence, scores.Count, chosen);
}
