namespace Sdar.Decoding;

/// <summary>
/// What a strategy sees at one denoising step of one block: per block position whether it is still masked, the
/// confidence p0 of its drawn token (-inf where not masked) and, for strategies that ask, the entropy of its full
/// distribution (+inf where not masked).
/// </summary>
public readonly ref struct UnmaskingStep
{
    public UnmaskingStep(ReadOnlySpan<bool> masked, ReadOnlySpan<float> confidence, ReadOnlySpan<float> entropy, int count)
    {
        Masked = masked;
        Confidence = confidence;
        Entropy = entropy;
        Count = count;
    }

    public ReadOnlySpan<bool> Masked { get; }
    public ReadOnlySpan<float> Confidence { get; }
    /// <summary>Empty unless the strategy's <see cref="IUnmaskingStrategy.NeedsEntropy"/> is true.</summary>
    public ReadOnlySpan<float> Entropy { get; }
    /// <summary>n_step[s], this step's share of the block under the step schedule.</summary>
    public int Count { get; }

    public int MaskedCount
    {
        get
        {
            int n = 0;
            foreach (bool m in Masked) if (m) n++;
            return n;
        }
    }
}

/// <summary>
/// Chooses which masked positions of the current block to commit at one denoising step (the official
/// <c>remasking_strategy</c>). Implementations add only masked positions; the generator commits x0 there.
/// </summary>
public interface IUnmaskingStrategy
{
    /// <summary>The strategy's name as the official scripts and our CLI spell it.</summary>
    string Name { get; }

    /// <summary>Whether <see cref="UnmaskingStep.Entropy"/> must be filled (it costs one more pass over the vocabulary).</summary>
    bool NeedsEntropy { get; }

    /// <summary>Adds the block positions to commit to <paramref name="chosen"/> (empty on entry).</summary>
    void Choose(UnmaskingStep scores, List<int> chosen);
}
