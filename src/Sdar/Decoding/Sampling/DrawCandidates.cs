namespace Sdar.Decoding;

/// <summary>
/// The tokens a draw may still pick, with their weights w_i = exp((l_i - max) / T) from the tempered softmax
/// (the most likely token weighs 1). At first the candidates are every token of positive weight, in id order, and
/// a filter removes a token by zeroing its weight. A filter that has to sort (top-p) ranks them: from then on the
/// candidates are <see cref="Ranked"/>, most likely first (lower id first on ties), and the draw walks that order.
/// </summary>
internal sealed class DrawCandidates
{
    private float[] _weights = [];

    /// <summary>One weight per vocabulary id; 0 = removed (while not ranked).</summary>
    public float[] Weights => _weights;

    /// <summary>The candidates in descending weight, once <see cref="IsRanked"/>.</summary>
    public List<int> Ranked { get; } = [];

    public bool IsRanked { get; private set; }

    /// <summary>Starts a new row of <paramref name="vocab"/> tokens; returns the weights to fill.</summary>
    public Span<float> Reset(int vocab)
    {
        if (_weights.Length != vocab) _weights = new float[vocab];
        Ranked.Clear();
        IsRanked = false;
        return _weights;
    }

    /// <summary>From now on the candidates are <see cref="Ranked"/>, which the caller has filled in order.</summary>
    public void MarkRanked() => IsRanked = true;

    /// <summary>Keeps only the first <paramref name="count"/> ranked candidates.</summary>
    public void KeepFirstRanked(int count) => Ranked.RemoveRange(count, Ranked.Count - count);
}
