using Sdar.Config;

namespace Sdar.Model;

/// <summary>
/// Keys and values of the final (committed) positions of one sequence, per layer and KV head. The engine owns
/// caches; models read positions 0..Length-1 and, when a forward stores K/V, write the new positions and advance.
/// Two storages: <see cref="ContiguousKvCache"/> (one growing array per layer, for standalone forwards and tests)
/// and <see cref="PagedKvCache"/> (fixed-size pages from a shared <see cref="KvPagePool"/>, what the engine uses).
/// </summary>
public abstract class KvCache
{
    protected KvCache(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Layers = config.NumHiddenLayers;
        KvHeads = config.NumKeyValueHeads;
        HeadDim = config.HeadDim;
    }

    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>Number of cached positions (positions 0..Length-1).</summary>
    public int Length { get; private set; }

    /// <summary>Positions the storage holds now (cached ones plus room for new ones).</summary>
    public abstract int Capacity { get; }

    /// <summary>Makes room for <paramref name="count"/> more positions, keeping the cached ones.</summary>
    public abstract void Reserve(int count);

    /// <summary>Writes one position's key and value (head_dim floats each) for one layer and KV head.</summary>
    public abstract void Write(int layer, int head, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value);

    /// <summary>Copies positions 0..count-1 of one layer and KV head into (count, head_dim) row-major spans, keys and values alike.</summary>
    public abstract void Read(int layer, int head, int count, Span<float> keys, Span<float> values);

    /// <summary>
    /// Positions 0..count-1 of one layer and KV head as runs read in place, appended to <paramref name="runs"/> in
    /// position order, so that attention reads the cache without copying it first; false, adding nothing, where the
    /// storage is not float32 keys in <see cref="KeyTiles"/> (BF16 pages, pages of other sizes): then <see cref="Read"/>
    /// converts a copy.
    /// </summary>
    public virtual bool TryGetRuns(int layer, int head, int count, List<KvRun> runs) => false;

    /// <summary>Marks <paramref name="count"/> positions written by a storing forward as cached.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (Length + count > Capacity) throw new InvalidOperationException("KV cache advanced past its capacity; call Reserve first");
        Length += count;
    }

    /// <summary>Forgets positions from <paramref name="length"/> on (to undo a forward, or to re-use a cache).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    /// <summary>Bytes of cached keys and values, as attention reads them (float32).</summary>
    public long ByteLength => 2L * Layers * KvHeads * Length * HeadDim * sizeof(float);

    protected void CheckLayerAndHead(int layer, int head)
    {
        if ((uint)layer >= (uint)Layers || (uint)head >= (uint)KvHeads)
            throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} / KV head {head} outside {Layers} x {KvHeads}");
    }

    protected void CheckPosition(int layer, int head, int position, int keyLength, int valueLength)
    {
        CheckLayerAndHead(layer, head);
        if ((uint)position >= (uint)Capacity)
            throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is outside the cache's capacity {Capacity}; reserve first");
        if (keyLength != HeadDim || valueLength != HeadDim)
            throw new ArgumentException($"a key and a value are head_dim {HeadDim} floats; got {keyLength} and {valueLength}");
    }
}

/// <summary>
/// Consecutive cached positions of one layer and KV head as stored: <paramref name="Positions"/> keys in
/// <see cref="KeyTiles"/> from <paramref name="Keys"/>[<paramref name="KeyOffset"/>] on (the last tile may be partly
/// used), and as many rows of head_dim values from <paramref name="Values"/>[<paramref name="ValueOffset"/>] on (see
/// <see cref="KvCache.TryGetRuns"/>).
/// </summary>
public readonly record struct KvRun(float[] Keys, int KeyOffset, float[] Values, int ValueOffset, int Positions);

/// <summary>
/// How caches store keys for attention: in tiles of <see cref="Width"/> positions, each tile head_dim rows of
/// <see cref="Width"/> floats (dimension d of the tile's 16 keys side by side), tiles one after another.
/// <para>
/// Why: a query's scores against 16 keys are then 16 lanes of one FMA chain over head_dim, each step one load of the
/// 16 keys' dimension d and a broadcast of the query's; with keys in rows every score ended in a lane sum of its own,
/// and at head_dim 64 those sums cost about as much as the multiply-adds (see <see cref="Kernels.AttentionScores"/>).
/// Values stay in rows: the weighted sum broadcasts a probability over a value row.
/// </para>
/// <para>A width of 1 is plain rows (position-major), what page sizes that are not a multiple of 16 keep.</para>
/// </summary>
public static class KeyTiles
{
    public const int Width = 16;

    /// <summary>Index of dimension <paramref name="d"/> of the key at <paramref name="position"/> (from the run's start).</summary>
    public static int Index(int position, int d, int headDim, int width = Width) =>
        position / width * width * headDim + d * width + position % width;

    /// <summary>Floats that <paramref name="positions"/> keys take in tiles: whole tiles, the last one padded.</summary>
    public static int Length(int positions, int headDim) => (positions + Width - 1) / Width * Width * headDim;

    /// <summary>One key (head_dim floats) into its place in <paramref name="tiles"/> (the run's start), at tile width <paramref name="width"/>.</summary>
    public static void Write(ReadOnlySpan<float> key, int position, Span<float> tiles, int width = Width)
    {
        for (int d = 0; d < key.Length; d++) tiles[Index(position, d, key.Length, width)] = key[d];
    }

    /// <summary>Keys in rows, (count, head_dim), into tiles; the unused lanes of the last tile are zeroed.</summary>
    public static void FromRows(ReadOnlySpan<float> rows, int count, int headDim, Span<float> tiles)
    {
        tiles[..Length(count, headDim)].Clear();
        for (int p = 0; p < count; p++) Write(rows.Slice(p * headDim, headDim), p, tiles);
    }

    /// <summary>The first <paramref name="count"/> keys of <paramref name="tiles"/> (tile width <paramref name="width"/>) into rows, (count, head_dim).</summary>
    public static void ToRows(ReadOnlySpan<float> tiles, int count, int headDim, Span<float> rows, int width = Width)
    {
        for (int p = 0; p < count; p++)
            for (int d = 0; d < headDim; d++) rows[p * headDim + d] = tiles[Index(p, d, headDim, width)];
    }
}

/// <summary>
/// One float32 array per layer and side, n_kv_heads regions of capacity positions (keys in <see cref="KeyTiles"/>,
/// values in rows), growing by doubling: the simplest storage, used by standalone forwards, benchmarks of one sequence
/// and tests. The engine uses <see cref="PagedKvCache"/>. The capacity is a whole number of key tiles.
/// </summary>
public sealed class ContiguousKvCache : KvCache
{
    private float[][] _keys, _values;
    private int _capacity;

    public ContiguousKvCache(ModelConfig config, int initialCapacity = 64) : base(config)
    {
        _capacity = WholeTiles(Math.Max(1, initialCapacity));
        _keys = new float[Layers][];
        _values = new float[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            _keys[l] = new float[KvHeads * _capacity * HeadDim];
            _values[l] = new float[KvHeads * _capacity * HeadDim];
        }
    }

    public override int Capacity => _capacity;

    private static int WholeTiles(int positions) => (positions + KeyTiles.Width - 1) / KeyTiles.Width * KeyTiles.Width;

    private Span<float> Keys(int layer, int head) => _keys[layer].AsSpan(head * _capacity * HeadDim, _capacity * HeadDim);
    private Span<float> Values(int layer, int head) => _values[layer].AsSpan(head * _capacity * HeadDim, _capacity * HeadDim);

    public override void Reserve(int count)
    {
        int needed = Length + count;
        if (needed <= _capacity) return;
        int newCapacity = WholeTiles(Math.Max(needed, _capacity * 2));
        for (int l = 0; l < Layers; l++)
        {
            _keys[l] = Grow(_keys[l], newCapacity);
            _values[l] = Grow(_values[l], newCapacity);
        }
        _capacity = newCapacity;
    }

    private float[] Grow(float[] old, int newCapacity)
    {
        var grown = new float[KvHeads * newCapacity * HeadDim];
        // Whole tiles of keys (the last one partly used), rows of values: either way the first Length positions are
        // one contiguous stretch of each head's region.
        int length = KeyTiles.Length(Length, HeadDim);
        for (int h = 0; h < KvHeads; h++)
            Array.Copy(old, h * _capacity * HeadDim, grown, h * newCapacity * HeadDim, length);
        return grown;
    }

    public override void Write(int layer, int head, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        CheckPosition(layer, head, position, key.Length, value.Length);
        KeyTiles.Write(key, position, Keys(layer, head));
        value.CopyTo(Values(layer, head).Slice(position * HeadDim, HeadDim));
    }

    public override bool TryGetRuns(int layer, int head, int count, List<KvRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if ((uint)count > (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(count));
        CheckLayerAndHead(layer, head);
        if (count > 0) runs.Add(new KvRun(_keys[layer], head * _capacity * HeadDim, _values[layer], head * _capacity * HeadDim, count));
        return true;
    }

    public override void Read(int layer, int head, int count, Span<float> keys, Span<float> values)
    {
        if ((uint)count > (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(count));
        CheckLayerAndHead(layer, head);
        KeyTiles.ToRows(Keys(layer, head), count, HeadDim, keys);
        Values(layer, head)[..(count * HeadDim)].CopyTo(values);
    }
}
