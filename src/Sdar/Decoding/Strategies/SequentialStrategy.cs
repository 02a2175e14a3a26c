namespace Sdar.Decoding;

/// <summary><c>sequential</c>: the leftmost n_step[s] masked positions, left to right like AR decoding inside the block.</summary>
public sealed class SequentialStrategy : IUnmaskingStrategy
{
    public const string StrategyName = "sequential";
    public string Name => StrategyName;
    public bool NeedsEntropy => false;

    public void Choose(UnmaskingStep scores, List<int> chosen)
    {
        for (int i = 0; i < scores.Masked.Length && chosen.Count < scores.Count; i++)
            if (scores.Masked[i]) chosen.Add(i);
    }
}
