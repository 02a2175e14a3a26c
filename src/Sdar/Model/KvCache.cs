using Sdar.Config;

namespace Sdar.Model;

/// <summary>
/// Keys and values of the final (committed) positions of one sequence, per layer, in float32.
/// Layout per layer: (n_kv_heads, capacity, head_dim), so that one head's keys are contiguous for attention.
/// The engine owns caches; models only read them and, when asked, append to them.
/// </summary>
public sealed class KvCache
{
    private readonly int _layers, _kvHeads, _headDim;
    private float[][] _keys, _values;

    public KvCache(ModelConfig config, int initialCapacity = 64)
    {
        _layers = config.NumHiddenLayers;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        Capacity = Math.Max(1, initialCapacity);
        _keys = new float[_layers][];
        _values = new float[_layers][];
        for (int l = 0; l < _layers; l++)
        {
            _keys[l] = new float[_kvHeads * Capacity * _headDim];
            _values[l] = new float[_kvHeads * Capacity * _headDim];
        }
    }

    /// <summary>Number of cached positions (positions 0..Length-1).</summary>
    public int Length { get; private set; }
    public int Capacity { get; private set; }
    public int HeadDim => _headDim;
    public int KvHeads => _kvHeads;

    /// <summary>Keys of <paramref name="layer"/>, head <paramref name="head"/>: (capacity, head_dim), first Length rows valid.</summary>
    public Span<float> Keys(int layer, int head) => _keys[layer].AsSpan(head * Capacity * _headDim, Capacity * _headDim);
    public Span<float> Values(int layer, int head) => _values[layer].AsSpan(head * Capacity * _headDim, Capacity * _headDim);

    /// <summary>Makes room for <paramref name="count"/> more positions (doubling), keeping the cached ones.</summary>
    public void Reserve(int count)
    {
        int needed = Length + count;
        if (needed <= Capacity) return;
        int newCapacity = Math.Max(needed, Capacity * 2);
        for (int l = 0; l < _layers; l++)
        {
            _keys[l] = Grow(_keys[l], newCapacity);
            _values[l] = Grow(_values[l], newCapacity);
        }
        Capacity = newCapacity;
    }

    private float[] Grow(float[] old, int newCapacity)
    {
        var grown = new float[_kvHeads * newCapacity * _headDim];
        for (int h = 0; h < _kvHeads; h++)
            Array.Copy(old, h * Capacity * _headDim, grown, h * newCapacity * _headDim, Length * _headDim);
        return grown;
    }

    /// <summary>Marks <paramref name="count"/> positions written by a storing forward as cached.</summary>
    public void Advance(int count)
    {
        if (Length + count > Capacity) throw new InvalidOperationException("KV cache advanced past its capacity; call Reserve first");
        Length += count;
    }

    /// <summary>Forgets positions from <paramref name="length"/> on (for re-use of a cache).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    /// <summary>Bytes of cached keys and values (what attention reads per forward).</summary>
    public long ByteLength => 2L * _layers * _kvHeads * Length * _headDim * sizeof(float);
}
