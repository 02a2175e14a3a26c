namespace Sdar.Decoding;

/// <summary>
/// <c>entropy_bounded</c>: masked positions in ascending order of the entropy of their full distribution; commit the
/// longest prefix whose cumulative entropy is &lt;= the budget, and at least one position. The step schedule does
/// not apply: the number of steps adapts to the model's certainty (at most one step per masked position).
/// </summary>
public sealed class EntropyBoundedStrategy : IUnmaskingStrategy
{
    public const string StrategyName = "entropy_bounded";
    private readonly float _budget;

    public EntropyBoundedStrategy(double budget)
    {
        if (!(budget > 0) || !double.IsFinite(budget))
            throw new ArgumentOutOfRangeException(nameof(budget), budget, "eb_threshold must be a finite number > 0");
        // Summed and compared in float32, as the reference's cumsum over a float32 entropy tensor.
        _budget = (float)budget;
    }

    public string Name => StrategyName;
    public bool NeedsEntropy => true;
    public double Budget => _budget;

    public void Choose(UnmaskingStep scores, List<int> chosen)
    {
        if (scores.Entropy.Length != scores.Masked.Length)
            throw new ArgumentException("entropy_bounded needs the entropy of every block position", nameof(scores));
        // Lowest entropy first: rank by negated entropy.
        var negated = new float[scores.Entropy.Length];
        for (int i = 0; i < negated.Length; i++) negated[i] = -scores.Entropy[i];
        Ranking.TopMasked(scores.Masked, negated, int.MaxValue, chosen);

        float cumulative = 0;
        int keep = 0;
        foreach (int position in chosen)
        {
            cumulative += scores.Entropy[position];
            if (cumulative > _budget) break;
            keep++;
        }
        keep = Math.Max(keep, Math.Min(1, chosen.Count));
        chosen.RemoveRange(keep, chosen.Count - keep);
    }
}
