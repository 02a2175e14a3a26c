using Sdar.Config;
using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>How an <see cref="Engine"/> shares the model and the memory between requests.</summary>
public sealed record EngineOptions
{
    /// <summary>Most sequences admitted at once (each holds KV pages); the rest wait.</summary>
    public int MaxRunningSequences { get; init; } = 16;

    /// <summary>
    /// Most new tokens in one forward, all sequences together. Decoding sequences are scheduled first; a prompt
    /// that does not fit the rest is prefilled in chunks, so a long prompt never stalls the ones decoding.
    /// </summary>
    public int MaxTokensPerForward { get; init; } = 8192;

    /// <summary>KV memory budget in bytes; null = <see cref="KvCacheTokens"/> if set, else half the available memory.</summary>
    public long? KvCacheBytes { get; init; }

    /// <summary>KV memory budget in positions (rounded up to whole pages); used when <see cref="KvCacheBytes"/> is null.</summary>
    public int? KvCacheTokens { get; init; }

    /// <summary>Positions per KV page. The prefix cache shares pages of requests whose block length divides it.</summary>
    public int PageSize { get; init; } = 64;

    /// <summary>Storage of keys and values: F32 (exact) or BF16 (half the memory).</summary>
    public KvStorage KvStorage { get; init; } = KvStorage.F32;

    /// <summary>Share the K/V of full prompt pages between requests that begin with the same tokens.</summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Require(MaxRunningSequences >= 1, $"MaxRunningSequences (max_running_sequences) must be at least 1; got {MaxRunningSequences}");
        Require(MaxTokensPerForward >= 1, $"MaxTokensPerForward (max_tokens_per_forward) must be at least 1; got {MaxTokensPerForward}");
        Require(KvCacheBytes is null or > 0, $"KvCacheBytes (kv_cache_bytes) must be > 0; got {KvCacheBytes}");
        Require(KvCacheTokens is null or > 0, $"KvCacheTokens (kv_cache_tokens) must be > 0; got {KvCacheTokens}");
        Require(PageSize is >= 1 and <= 4096, $"PageSize (kv_page_size) must be in 1..4096; got {PageSize}");
        Require(Enum.IsDefined(KvStorage), $"KvStorage (kv_storage) must be F32 or BF16; got {KvStorage}");
    }

    /// <summary>The page pool these options describe for <paramref name="config"/>.</summary>
    internal KvPagePool CreatePool(ModelConfig config)
    {
        if (KvCacheBytes is long bytes) return KvPagePool.WithBudget(config, PageSize, bytes, KvStorage);
        if (KvCacheTokens is int tokens) return new KvPagePool(config, PageSize, (tokens + PageSize - 1) / PageSize, KvStorage);
        return KvPagePool.WithBudget(config, PageSize, Math.Max(1, ModelMemory.AvailableBytes() / 2), KvStorage);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
