namespace Sdar.Training.Objectives;

/// <summary>A square boolean attention mask, row-major: <c>this[q, k]</c> is true when query q may attend to key k.</summary>
public sealed class AttentionMask
{
    public AttentionMask(int size)
    {
        Size = size;
        Data = new bool[size * size];
    }

    public int Size { get; }
    /// <summary>Row-major (query, key) visibility, ready to become a (T, T) boolean tensor.</summary>
    public bool[] Data { get; }

    public bool this[int query, int key]
    {
        get => Data[query * Size + key];
        set => Data[query * Size + key] = value;
    }
}

/// <summary>
/// The training attention masks as pure functions of a packed row's layout (DESIGN sections 2 and 3). Padding
/// positions (sample id -1) see only themselves, so that no softmax row is empty and nothing leaks.
/// </summary>
public static class TrainingMasks
{
    /// <summary>
    /// Causal attention inside each packed sample: query q sees key k iff both lie in the same sample and k &lt;= q.
    /// </summary>
    public static AttentionMask Causal(IReadOnlyList<int> sampleIds)
    {
        int n = sampleIds.Count;
        var mask = new AttentionMask(n);
        for (int q = 0; q < n; q++)
        {
            mask[q, q] = true;
            if (sampleIds[q] < 0) continue;
            for (int k = q - 1; k >= 0 && sampleIds[k] == sampleIds[q]; k--) mask[q, k] = true;
        }
        return mask;
    }

    /// <summary>
    /// The SDAR training mask over the 2n layout <c>[x_t (noised), x_0 (clean)]</c>: position i &lt; n is noised
    /// token i, position n + i its clean copy, both at the sample position <paramref name="positions"/>[i].
    /// With b the block index inside the sample (position / B), query q sees key k iff they are in the same sample and
    /// <list type="bullet">
    /// <item>same copy and same block (bidirectional inside a block), or</item>
    /// <item>q noised, k clean and b(q) &gt; b(k) (a noised block sees the strictly earlier clean blocks), or</item>
    /// <item>both clean and b(q) &gt;= b(k) (the clean copy is block-causal).</item>
    /// </list>
    /// The clean copy never sees the noised copy; packed samples never see each other.
    /// </summary>
    public static AttentionMask BlockDiffusion(IReadOnlyList<int> sampleIds, IReadOnlyList<int> positions, int blockLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLength, 1);
        if (positions.Count != sampleIds.Count) throw new ArgumentException("sampleIds and positions differ in length", nameof(positions));
        int n = sampleIds.Count;
        var mask = new AttentionMask(2 * n);
        for (int q = 0; q < 2 * n; q++)
        {
            int qi = q % n;
            bool qClean = q >= n;
            mask[q, q] = true;
            if (sampleIds[qi] < 0) continue;
            int qBlock = positions[qi] / blockLength;
            for (int k = 0; k < 2 * n; k++)
            {
                int ki = k % n;
                if (sampleIds[ki] != sampleIds[qi]) continue;
                bool kClean = k >= n;
                int kBlock = positions[ki] / blockLength;
                mask[q, k] = (qClean, kClean) switch
                {
                    (false, false) => qBlock == kBlock,
                    (false, true) => qBlock > kBlock,
                    (true, true) => qBlock >= kBlock,
                    (true, false) => false,
                };
            }
        }
        return mask;
    }
}
