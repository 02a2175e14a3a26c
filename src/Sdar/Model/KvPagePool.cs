using Sdar.Checkpoints;
using Sdar.Config;

namespace Sdar.Model;

/// <summary>How a <see cref="KvPagePool"/> stores keys and values.</summary>
public enum KvStorage
{
    /// <summary>float32: exactly what the forward computed (the default; decoding is bit-identical to a contiguous cache).</summary>
    F32,
    /// <summary>bfloat16, rounded to nearest even: half the memory, keys and values carry 8 bits of mantissa.</summary>
    BF16,
}

/// <summary>
/// A fixed budget of KV memory cut into pages of <see cref="PageSize"/> positions, shared by every sequence of an
/// engine (vLLM's block manager). A sequence's <see cref="PagedKvCache"/> holds a page table into this pool.
/// <para>
/// Pages are materialised on first use, so a large budget costs nothing until it is needed. A page layout is
/// (layer, key/value, kv head, positions), so one head's positions of one page are contiguous: values in rows of
/// head_dim, keys in <see cref="KeyTiles"/> when the page size is a multiple of their width (the default, 64), else in
/// rows too (such pages are copied into tiles for attention, as BF16 pages are).
/// </para>
/// <para>
/// Prefix caching: a page whose every position is a prompt position that depends only on the prompt (block
/// diffusion: the prompt's full blocks; AR: all but the last prompt token) is registered under a hash of all the
/// tokens up to its end and the block length B (block-causal keys and values depend on B). A later sequence that
/// starts with the same tokens and B takes the page instead of recomputing it. Pages are reference counted; a
/// registered page nobody holds stays cached until its memory is needed (least recently released first).
/// </para>
/// <para>Not thread-safe: one engine drives it from one thread.</para>
/// </summary>
public sealed class KvPagePool
{
    private readonly int _layers, _kvHeads, _headDim;
    private readonly int _headStride, _sideStride, _layerStride;   // floats / bf16 values within a page
    private readonly int _keyWidth;                                 // KeyTiles.Width, or 1 (rows) where the page size is no multiple of it
    // Per-page state, grown as pages are materialised (a budget of millions of pages costs nothing up front).
    private readonly List<float[]> _f32 = [];
    private readonly List<ushort[]> _bf16 = [];
    private readonly List<int> _references = [];
    private readonly List<LinkedListNode<int>?> _cachedFreeNode = [];
    private readonly List<PrefixKey?> _keyOfPage = [];
    private readonly Stack<int> _unregisteredFree = new();          // materialised pages nobody holds, not in the prefix cache
    private readonly LinkedList<int> _cachedFree = new();            // registered pages nobody holds, oldest first
    private readonly Dictionary<ulong, int> _pageOfKey = [];

    private sealed record PrefixKey(ulong Hash, ulong ParentHash, int BlockLength, int[] Tokens);

    public KvPagePool(ModelConfig config, int pageSize, int pageCount, KvStorage storage = KvStorage.F32)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (pageSize < 1) throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "a KV page holds at least 1 position");
        if (pageCount < 1) throw new ArgumentOutOfRangeException(nameof(pageCount), pageCount, "a KV pool holds at least 1 page");
        _layers = config.NumHiddenLayers;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        PageSize = pageSize;
        PageCount = pageCount;
        Storage = storage;
        _keyWidth = pageSize % KeyTiles.Width == 0 ? KeyTiles.Width : 1;
        _headStride = pageSize * _headDim;
        _sideStride = _kvHeads * _headStride;
        _layerStride = 2 * _sideStride;
    }

    /// <summary>The pool that fits <paramref name="budgetBytes"/> (at least one page).</summary>
    public static KvPagePool WithBudget(ModelConfig config, int pageSize, long budgetBytes, KvStorage storage = KvStorage.F32)
    {
        long pageBytes = BytesPerPage(config, pageSize, storage);
        long pages = Math.Clamp(budgetBytes / pageBytes, 1, int.MaxValue);
        return new KvPagePool(config, pageSize, (int)pages, storage);
    }

    /// <summary>Bytes one page of <paramref name="pageSize"/> positions takes (keys and values of every layer).</summary>
    public static long BytesPerPage(ModelConfig config, int pageSize, KvStorage storage) =>
        2L * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * pageSize * (storage == KvStorage.F32 ? 4 : 2);

    public int PageSize { get; }
    public int PageCount { get; }
    public KvStorage Storage { get; }

    /// <summary>Whether attention reads this pool's keys in place: float32 pages whose keys are in <see cref="KeyTiles"/>.</summary>
    public bool ReadsInPlace => Storage == KvStorage.F32 && _keyWidth == KeyTiles.Width;
    public long PageBytes => (long)_layerStride * _layers * (Storage == KvStorage.F32 ? 4 : 2);
    public long BudgetBytes => PageBytes * PageCount;
    public int CapacityTokens => PageSize * PageCount;

    /// <summary>Pages a new sequence could get now: never used or freed, plus cached pages nobody holds.</summary>
    public int FreePageCount => PageCount - MaterialisedPageCount + _unregisteredFree.Count + _cachedFree.Count;
    public int UsedPageCount => PageCount - FreePageCount;
    /// <summary>The most pages held at once since the pool was made.</summary>
    public int PeakUsedPageCount { get; private set; }
    /// <summary>Pages whose memory exists (materialised on first use); never more than <see cref="PageCount"/>.</summary>
    public int MaterialisedPageCount { get; private set; }
    /// <summary>Pages registered in the prefix cache (held or not).</summary>
    public int CachedPageCount => _pageOfKey.Count;

    /// <summary>Prefix-cache lookups, and the pages they found (each hit is a page not recomputed).</summary>
    public long PrefixLookups { get; private set; }
    public long PrefixHits { get; private set; }

    /// <summary>
    /// Takes a free page: a released unregistered one, else a new one while the budget allows, else the least
    /// recently released cached one (evicting it from the prefix cache); -1 if none is free.
    /// </summary>
    internal int TryAllocate()
    {
        int page;
        if (_unregisteredFree.Count > 0) page = _unregisteredFree.Pop();
        else if (MaterialisedPageCount < PageCount) page = Materialise();
        else if (_cachedFree.First is { } oldest)
        {
            page = oldest.Value;
            RemoveCachedFree(page);
            Unregister(page);
        }
        else return -1;
        _references[page] = 1;
        PeakUsedPageCount = Math.Max(PeakUsedPageCount, UsedPageCount);
        return page;
    }

    /// <summary>Drops one holder of <paramref name="page"/>; a page nobody holds is free (cached if registered).</summary>
    internal void Release(int page)
    {
        if (_references[page] <= 0) throw new InvalidOperationException($"KV page {page} released more often than it was taken");
        if (--_references[page] > 0) return;
        if (_keyOfPage[page] is not null) _cachedFreeNode[page] = _cachedFree.AddLast(page);
        else _unregisteredFree.Push(page);
    }

    /// <summary>The chained hash of a page: its parent page's hash, B and the page's tokens.</summary>
    internal static ulong HashPage(ulong parentHash, int blockLength, ReadOnlySpan<int> tokens)
    {
        ulong hash = parentHash ^ 0x9E3779B97F4A7C15UL;
        hash = Mix(hash ^ (ulong)blockLength);
        foreach (int token in tokens) hash = Mix(hash ^ (uint)token);
        return hash;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 30; x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27; x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>
    /// The cached page holding <paramref name="tokens"/> after the prefix hashed as <paramref name="parentHash"/>
    /// with block length <paramref name="blockLength"/>, taken for the caller (reference added); -1 on a miss.
    /// The tokens and the parent are compared, not only the hash.
    /// </summary>
    internal int TryTakeCached(ulong hash, ulong parentHash, int blockLength, ReadOnlySpan<int> tokens)
    {
        PrefixLookups++;
        if (!_pageOfKey.TryGetValue(hash, out int page)) return -1;
        var key = _keyOfPage[page]!;
        if (key.ParentHash != parentHash || key.BlockLength != blockLength || !tokens.SequenceEqual(key.Tokens)) return -1;
        if (_references[page] == 0) RemoveCachedFree(page);
        _references[page]++;
        PrefixHits++;
        PeakUsedPageCount = Math.Max(PeakUsedPageCount, UsedPageCount);
        return page;
    }

    /// <summary>Registers a held, fully computed page under its prefix key (no-op if that key is cached already).</summary>
    internal void Register(int page, ulong hash, ulong parentHash, int blockLength, ReadOnlySpan<int> tokens)
    {
        if (_references[page] <= 0) throw new InvalidOperationException($"KV page {page} registered while free");
        if (_keyOfPage[page] is not null || _pageOfKey.ContainsKey(hash)) return;
        _keyOfPage[page] = new PrefixKey(hash, parentHash, blockLength, tokens.ToArray());
        _pageOfKey[hash] = page;
    }

    internal bool IsRegistered(int page) => _keyOfPage[page] is not null;

    private void Unregister(int page)
    {
        if (_keyOfPage[page] is { } key) _pageOfKey.Remove(key.Hash);
        _keyOfPage[page] = null;
    }

    private void RemoveCachedFree(int page)
    {
        _cachedFree.Remove(_cachedFreeNode[page]!);
        _cachedFreeNode[page] = null;
    }

    private int Materialise()
    {
        long size = (long)_layerStride * _layers;
        if (Storage == KvStorage.F32) _f32.Add(new float[size]);
        else _bf16.Add(new ushort[size]);
        _references.Add(0);
        _cachedFreeNode.Add(null);
        _keyOfPage.Add(null);
        return MaterialisedPageCount++;
    }

    internal void Write(int page, int layer, int head, int offset, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        int keyStart = layer * _layerStride + head * _headStride;
        int valueStart = keyStart + _sideStride + offset * _headDim;
        if (Storage == KvStorage.F32)
        {
            var floats = _f32[page];
            KeyTiles.Write(key, offset, floats.AsSpan(keyStart, _headStride), _keyWidth);
            value.CopyTo(floats.AsSpan(valueStart, _headDim));
            return;
        }
        var bits = _bf16[page];
        for (int d = 0; d < _headDim; d++)
        {
            bits[keyStart + KeyTiles.Index(offset, d, _headDim, _keyWidth)] = RandomModel.ToBFloat16(key[d]);
            bits[valueStart + d] = RandomModel.ToBFloat16(value[d]);
        }
    }

    /// <summary>Positions 0..count-1 of one float32 page's (layer, head) keys and values, in place (see <see cref="ReadsInPlace"/>).</summary>
    internal KvRun Run(int page, int layer, int head, int count)
    {
        if (!ReadsInPlace) throw new InvalidOperationException("this pool's keys are not float32 tiles; read a copy");
        int keyStart = layer * _layerStride + head * _headStride;
        return new KvRun(_f32[page], keyStart, _f32[page], keyStart + _sideStride, count);
    }

    /// <summary>Copies positions 0..count-1 of one page's (layer, head) keys and values into float spans, both in rows.</summary>
    internal void Read(int page, int layer, int head, int count, Span<float> keys, Span<float> values)
    {
        int keyStart = layer * _layerStride + head * _headStride, length = count * _headDim;
        int valueStart = keyStart + _sideStride;
        if (Storage == KvStorage.F32)
        {
            var floats = _f32[page];
            KeyTiles.ToRows(floats.AsSpan(keyStart, _headStride), count, _headDim, keys, _keyWidth);
            floats.AsSpan(valueStart, length).CopyTo(values);
            return;
        }
        var bits = _bf16[page];
        for (int p = 0; p < count; p++)
            for (int d = 0; d < _headDim; d++)
                keys[p * _headDim + d] = BitConverter.Int32BitsToSingle(bits[keyStart + KeyTiles.Index(p, d, _headDim, _keyWidth)] << 16);
        for (int i = 0; i < length; i++) values[i] = BitConverter.Int32BitsToSingle(bits[valueStart + i] << 16);
    }
}
