namespace Sdar.Model;

/// <summary>The inference attention masks of DESIGN section 2, on absolute positions.</summary>
public static class Masks
{
    /// <summary>Whether a query at <paramref name="queryPosition"/> may attend to a key at <paramref name="keyPosition"/>.</summary>
    public static bool Visible(AttentionKind kind, int blockLength, int queryPosition, int keyPosition) => kind switch
    {
        AttentionKind.Causal => keyPosition <= queryPosition,
        // Block-causal: bidirectional inside a block, causal across blocks.
        AttentionKind.BlockCausal => queryPosition / blockLength >= keyPosition / blockLength,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The last key position (inclusive) a query may see: its own position, or the end of its block.</summary>
    public static int LastVisibleKey(AttentionKind kind, int blockLength, int queryPosition) => kind switch
    {
        AttentionKind.Causal => queryPosition,
        AttentionKind.BlockCausal => (queryPosition / blockLength + 1) * blockLength - 1,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
