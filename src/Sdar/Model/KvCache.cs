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

    /// <summary>Copies positions 0..count-1 of one layer and KV head into (count, head_dim) row-major spans.</summary>
    public abstract void Read(int layer, int head, int count, Span<float> keys, Span<float> values);

    /// <summary>
    /// Positions 0..count-1 of one layer and KV head as runs read in place, appended to <paramref name="runs"/> in
    /// position order, so that attention reads the cache without copying it first; false, adding nothing, where the
    /// storage is not float32 (BF16 pages): then <see cref="Read"/> converts a copy.
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
/// Consecutive cached positions of one layer and KV head as stored: <paramref name="Positions"/> rows of head_dim keys
/// from <paramref name="Keys"/>[<paramref name="KeyOffset"/>] on, and as many values from
/// <paramref name="Values"/>[<paramref name="ValueOffset"/>] on (see <see cref="KvCache.TryGetRuns"/>).
/// </summary>
public readonly record struct KvRun(float[] Keys, int KeyOffset, float[] Values, int ValueOffset, int Positions);

/// <summary>
/// One float32 array per layer, (n_kv_heads, capacity, head_dim), growing by doubling: the simplest storage,
/// used by standalone forwards, benchmarks of one sequence and tests. The engine uses <see cref="PagedKvCache"/>.
/// </summary>
public sealed class ContiguousKvCache : KvCache
{
    private float[][] _keys, _values;
    private int _capacity;

    public ContiguousKvCache(ModelConfig config, int initialCapacity = 64) : base(config)
    {
        _capacity = Math.Max(1, initialCapacity);
        _keys = new float[Layers][];
        _values = new float[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            _keys[l] = new float[KvHeads * _capacity * HeadDim];
            _values[l] = new float[KvHeads * _capacity * HeadDim];
        }
    }

    public override int Capacity => _capacity;

    /// <summary>Keys of <paramref name="layer"/>, head <paramref name="head"/>: (capacity, head_dim), first Length rows valid.</summary>
    public Span<float> Keys(int layer, int head) => _keys[layer].AsSpan(head * _capacity * HeadDim, _capacity * HeadDim);
    public Span<float> Values(int layer, int head) => _values[layer].AsSpan(head * _capacity * HeadDim, _capacity * HeadDim);

    public override void Reserve(int count)
    {
        int needed = Length + count;
        if (needed <= _capacity) return;
        int newCapacity = Math.Max(needed, _capacity * 2);
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
        for (int h = 0; h < KvHeads; h++)
            Array.Copy(old, h * _capacity * HeadDim, grown, h * newCapacity * HeadDim, Length * HeadDim);
        return grown;
    }

    public override void Write(int layer, int head, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        CheckPosition(layer, head, position, key.Length, value.Length);
        key.CopyTo(Keys(layer, head).Slice(position * HeadDim, HeadDim));
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
        Keys(layer, head)[..(count * HeadDim)].CopyTo(keys);
        Values(layer, head)[..(count * HeadDim)].CopyTo(values);
    }
}
