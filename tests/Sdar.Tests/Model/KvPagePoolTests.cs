using Sdar.Model;
using Sdar.Tests.Decoding;

namespace Sdar.Tests.Model;

public sealed class KvPagePoolTests
{
    private static readonly Sdar.Config.ModelConfig Config = FakeConfigs.Sdar();
    // Two layers and two KV heads, so that a position's place in a page is checked away from the first (layer, head).
    private static readonly Sdar.Config.ModelConfig Wider = Config with { NumHiddenLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 2 };

    [Fact]
    public void The_pool_never_hands_out_more_pages_than_its_budget_and_gets_them_all_back()
    {
        var pool = new KvPagePool(Config, pageSize: 4, pageCount: 5);
        var a = new PagedKvCache(pool, Config);
        var b = new PagedKvCache(pool, Config);
        Assert.True(a.TryReserve(12));          // 3 pages
        Assert.False(b.TryReserve(12));         // 2 left: takes them, then runs out
        Assert.Equal(2, b.Pages.Count);
        Assert.Equal(0, pool.FreePageCount);
        Assert.Equal(5, pool.PeakUsedPageCount);
        a.ReleaseAll();
        Assert.True(b.TryReserve(12));
        b.ReleaseAll();
        Assert.Equal(5, pool.FreePageCount);
        Assert.Equal(5, pool.MaterialisedPageCount);
    }

    [Fact]
    public void Keys_and_values_read_back_across_pages_as_written_in_f32_and_rounded_in_bf16()
    {
        foreach (var storage in new[] { KvStorage.F32, KvStorage.BF16 })
        {
            var pool = new KvPagePool(Config, pageSize: 3, pageCount: 4, storage);
            var cache = new PagedKvCache(pool, Config);
            Assert.True(cache.TryReserve(7));
            int hd = Config.HeadDim;
            for (int p = 0; p < 7; p++)
                cache.Write(0, 0, p, Enumerable.Range(0, hd).Select(d => p + d / 3f).ToArray(), Enumerable.Range(0, hd).Select(d => -p - d / 7f).ToArray());
            cache.Advance(7);
            var keys = new float[7 * hd];
            var values = new float[7 * hd];
            cache.Read(0, 0, 7, keys, values);
            for (int p = 0; p < 7; p++)
                for (int d = 0; d < hd; d++)
                {
                    float key = p + d / 3f, value = -p - d / 7f;
                    float tolerance = storage == KvStorage.F32 ? 0 : Math.Abs(key) / 128 + 1e-6f;
                    Assert.InRange(keys[p * hd + d], key - tolerance, key + tolerance);
                    Assert.InRange(values[p * hd + d], value - Math.Abs(value) / 128 - 1e-6f, value + Math.Abs(value) / 128 + 1e-6f);
                }
        }
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(64, true)]
    [InlineData(3, false)]     // keys in rows: attention copies them into tiles
    [InlineData(24, false)]
    public void Float_pages_of_whole_key_tiles_are_read_in_place_others_through_a_copy(int pageSize, bool inPlace)
    {
        var pool = new KvPagePool(Wider, pageSize, pageCount: 8);
        Assert.Equal(inPlace, pool.ReadsInPlace);
        Assert.False(new KvPagePool(Wider, pageSize, 8, KvStorage.BF16).ReadsInPlace);
        var cache = new PagedKvCache(pool, Wider);
        int hd = Wider.HeadDim, count = 2 * pageSize + 5;
        Assert.True(cache.TryReserve(count));
        for (int p = 0; p < count; p++)
            cache.Write(1, 1, p, Enumerable.Range(0, hd).Select(d => p * 100f + d).ToArray(), Enumerable.Range(0, hd).Select(d => -p * 100f - d).ToArray());
        cache.Advance(count);
        var runs = new List<KvRun>();
        Assert.Equal(inPlace, cache.TryGetRuns(1, 1, count, runs));
        if (!inPlace)
        {
            Assert.Empty(runs);
            return;
        }
        Assert.Equal(new[] { pageSize, pageSize, 5 }, runs.Select(r => r.Positions));
        for (int r = 0, first = 0; r < runs.Count; first += runs[r].Positions, r++)
            for (int p = 0; p < runs[r].Positions; p++)
                for (int d = 0; d < hd; d++)
                {
                    Assert.Equal((first + p) * 100f + d, runs[r].Keys[runs[r].KeyOffset + KeyTiles.Index(p, d, hd)]);
                    Assert.Equal(-(first + p) * 100f - d, runs[r].Values[runs[r].ValueOffset + p * hd + d]);
                }
    }

    [Fact]
    public void A_contiguous_cache_keeps_its_keys_in_tiles_as_it_grows()
    {
        var cache = new ContiguousKvCache(Wider, initialCapacity: 5);
        int hd = Wider.HeadDim;
        for (int p = 0; p < 40; p++)
        {
            cache.Reserve(1);   // grows 16 -> 32 -> 64 positions on the way
            cache.Write(0, 1, p, Enumerable.Range(0, hd).Select(d => p * 100f + d).ToArray(), Enumerable.Range(0, hd).Select(d => -p * 100f - d).ToArray());
            cache.Advance(1);
        }
        Assert.Equal(0, cache.Capacity % KeyTiles.Width);
        var keys = new float[40 * hd];
        var values = new float[40 * hd];
        cache.Read(0, 1, 40, keys, values);
        var runs = new List<KvRun>();
        Assert.True(cache.TryGetRuns(0, 1, 40, runs));
        var run = Assert.Single(runs);
        for (int p = 0; p < 40; p++)
            for (int d = 0; d < hd; d++)
            {
                Assert.Equal(p * 100f + d, keys[p * hd + d]);
                Assert.Equal(-p * 100f - d, values[p * hd + d]);
                Assert.Equal(p * 100f + d, run.Keys[run.KeyOffset + KeyTiles.Index(p, d, hd)]);
            }
    }

    [Fact]
    public void A_cached_page_is_shared_while_held_and_evicted_only_when_its_memory_is_needed()
    {
        var pool = new KvPagePool(Config, pageSize: 4, pageCount: 3);
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var first = new PagedKvCache(pool, Config);
        Assert.True(first.TryReserve(9));
        first.Advance(9);
        first.RegisterComputedPrefix(tokens, shareableLength: 8, blockLength: 4);
        Assert.Equal(2, pool.CachedPageCount);

        var second = new PagedKvCache(pool, Config);
        Assert.Equal(8, second.AttachCachedPrefix(tokens, 8, blockLength: 4));
        Assert.Equal(2, pool.PrefixHits);
        Assert.Equal(first.Pages.Take(2), second.Pages);
        Assert.Throws<InvalidOperationException>(() => second.Write(0, 0, 3, new float[Config.HeadDim], new float[Config.HeadDim]));

        first.ReleaseAll();
        second.ReleaseAll();
        Assert.Equal(3, pool.FreePageCount);      // cached pages nobody holds count as free
        Assert.Equal(2, pool.CachedPageCount);

        var third = new PagedKvCache(pool, Config);
        Assert.Equal(4, third.AttachCachedPrefix([1, 2, 3, 4, 0, 0, 0, 0], 8, blockLength: 4));   // first page only
        var other = new PagedKvCache(pool, Config);
        Assert.True(other.TryReserve(8));           // the free page, then the unheld cached page is evicted
        Assert.Equal(1, pool.CachedPageCount);
        Assert.False(other.TryReserve(12));         // the held cached page is never evicted
        third.ReleaseAll();
        other.ReleaseAll();
        Assert.Equal(3, pool.FreePageCount);
    }
}
