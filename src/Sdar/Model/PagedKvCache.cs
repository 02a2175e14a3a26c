namespace Sdar.Model;

/// <summary>
/// One sequence's KV cache as a page table into a shared <see cref="KvPagePool"/>: position p lives in page
/// <c>Pages[p / PageSize]</c> at offset <c>p % PageSize</c>. The engine reserves pages before a forward that stores
/// K/V (<see cref="TryReserve"/>), so the model never allocates; <see cref="ReleaseAll"/> gives them back.
/// </summary>
public sealed class PagedKvCache : KvCache
{
    private readonly KvPagePool _pool;
    private readonly List<int> _pages = [];
    private readonly List<ulong> _pageHashes = [];   // prefix hash of each leading page that is registered or shared
    private bool _released;

    public PagedKvCache(KvPagePool pool, Config.ModelConfig config) : base(config)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
    }

    public KvPagePool Pool => _pool;
    public IReadOnlyList<int> Pages => _pages;
    public override int Capacity => _pages.Count * _pool.PageSize;

    /// <summary>Pages at the start of this cache that came from the prefix cache (their positions were not computed).</summary>
    public int SharedPageCount { get; private set; }

    /// <summary>
    /// Takes pages until <paramref name="positions"/> positions fit; false when the pool ran out (the pages taken
    /// so far stay with this cache, so a retry after freeing memory continues).
    /// </summary>
    public bool TryReserve(int positions)
    {
        ObjectDisposedException.ThrowIf(_released, this);
        while (Capacity < positions)
        {
            int page = _pool.TryAllocate();
            if (page < 0) return false;
            _pages.Add(page);
        }
        return true;
    }

    /// <summary>The engine reserves pages ahead (<see cref="TryReserve"/>); a forward that needs more is a bug.</summary>
    public override void Reserve(int count)
    {
        if (Length + count > Capacity)
            throw new InvalidOperationException($"paged KV cache holds {Capacity} positions, the forward needs {Length + count}; the engine reserves pages before a forward");
    }

    public override void Write(int layer, int head, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        CheckPosition(layer, head, position, key.Length, value.Length);
        int pageIndex = position / _pool.PageSize;
        if (pageIndex < SharedPageCount)
            throw new InvalidOperationException($"position {position} lies in a page shared through the prefix cache; shared pages are read-only");
        _pool.Write(_pages[pageIndex], layer, head, position % _pool.PageSize, key, value);
    }

    public override bool TryGetRuns(int layer, int head, int count, List<KvRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if ((uint)count > (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(count));
        CheckLayerAndHead(layer, head);
        if (!_pool.ReadsInPlace) return false;
        int pageSize = _pool.PageSize;
        for (int start = 0, page = 0; start < count; start += pageSize, page++)
            runs.Add(_pool.Run(_pages[page], layer, head, Math.Min(pageSize, count - start)));
        return true;
    }

    public override void Read(int layer, int head, int count, Span<float> keys, Span<float> values)
    {
        if ((uint)count > (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(count));
        int pageSize = _pool.PageSize, hd = HeadDim;
        for (int start = 0, page = 0; start < count; start += pageSize, page++)
        {
            int n = Math.Min(pageSize, count - start);
            _pool.Read(_pages[page], layer, head, n, keys.Slice(start * hd, n * hd), values.Slice(start * hd, n * hd));
        }
    }

    /// <summary>
    /// Prefix caching, before the first forward: takes the cached pages that hold the leading full pages of
    /// <paramref name="tokens"/>[..<paramref name="shareableLength"/>) under block length
    /// <paramref name="blockLength"/>, and marks their positions cached. Returns the positions now cached.
    /// </summary>
    public int AttachCachedPrefix(ReadOnlySpan<int> tokens, int shareableLength, int blockLength)
    {
        if (Length != 0 || _pages.Count != 0) throw new InvalidOperationException("a cached prefix attaches to an empty cache");
        int pageSize = _pool.PageSize;
        ulong parent = 0;
        for (int end = pageSize; end <= shareableLength; end += pageSize)
        {
            var pageTokens = tokens[(end - pageSize)..end];
            ulong hash = KvPagePool.HashPage(parent, blockLength, pageTokens);
            int page = _pool.TryTakeCached(hash, parent, blockLength, pageTokens);
            if (page < 0) break;
            _pages.Add(page);
            _pageHashes.Add(hash);
            parent = hash;
        }
        SharedPageCount = _pages.Count;
        Advance(_pages.Count * pageSize);
        return Length;
    }

    /// <summary>
    /// Registers this cache's full pages inside [0, <paramref name="shareableLength"/>) that are computed now, so
    /// later sequences with the same prefix can share them. Pages are registered in order (a page's key chains
    /// its parent's), so the first not yet computed one stops the walk.
    /// </summary>
    public void RegisterComputedPrefix(ReadOnlySpan<int> tokens, int shareableLength, int blockLength)
    {
        int pageSize = _pool.PageSize;
        int limit = Math.Min(shareableLength, Length);
        while ((_pageHashes.Count + 1) * pageSize <= limit)
        {
            int index = _pageHashes.Count, end = (index + 1) * pageSize;
            ulong parent = index == 0 ? 0 : _pageHashes[index - 1];
            var pageTokens = tokens[(end - pageSize)..end];
            ulong hash = KvPagePool.HashPage(parent, blockLength, pageTokens);
            _pool.Register(_pages[index], hash, parent, blockLength, pageTokens);
            _pageHashes.Add(hash);
        }
    }

    /// <summary>Returns every page to the pool; the cache cannot be used afterwards.</summary>
    public void ReleaseAll()
    {
        if (_released) return;
        foreach (int page in _pages) _pool.Release(page);
        _pages.Clear();
        _pageHashes.Clear();
        Truncate(0);
        _released = true;
    }
}
