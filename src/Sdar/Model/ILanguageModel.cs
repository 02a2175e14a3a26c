using Sdar.Config;

namespace Sdar.Model;

/// <summary>How new tokens attend to each other (cached positions are always visible: they are earlier blocks).</summary>
public enum AttentionKind
{
    /// <summary>Query i sees key j iff j &lt;= i (AR decoding, <c>qwen3</c> checkpoints).</summary>
    Causal,
    /// <summary>Query i sees key j iff floor(i/B) &gt;= floor(j/B) (DESIGN section 2, inference mask).</summary>
    BlockCausal,
}

/// <summary>Which rows of logits a forward returns.</summary>
public enum LogitsKind
{
    /// <summary>One row per new token.</summary>
    All,
    /// <summary>Only the last new token's row (AR decoding).</summary>
    Last,
    /// <summary>No logits (prefill or commit forwards).</summary>
    None,
    /// <summary>One row per new token past the stored prefix (a fused commit: the stored block needs no logits).</summary>
    Unstored,
}

/// <summary>
/// One sequence's part of a forward: the new tokens, which occupy positions Cache.Length .. Cache.Length+T-1,
/// how they attend (each sequence of a forward has its own attention kind and block length), and whether their
/// keys/values are appended to the cache (a "commit") or only used for this forward.
/// </summary>
/// <param name="StoreKv">Append the new tokens' K/V to the cache (all of them, or the first <see cref="StoredPrefix"/>).</param>
public sealed record SequenceInput(int[] Tokens, KvCache Cache, bool StoreKv, LogitsKind Logits = LogitsKind.All)
{
    public AttentionKind Attention { get; init; } = AttentionKind.Causal;

    /// <summary>B for <see cref="AttentionKind.BlockCausal"/>; ignored for causal attention.</summary>
    public int BlockLength { get; init; } = 1;

    /// <summary>
    /// With <see cref="StoreKv"/>: how many of the new tokens, from the first, have their K/V stored; null = all.
    /// A fused commit stores the finished block (its first B tokens) and denoises the next block in one forward.
    /// </summary>
    public int? StoredPrefix { get; init; }

    /// <summary>New tokens whose K/V this forward appends to the cache.</summary>
    public int StoredCount => StoreKv ? StoredPrefix ?? Tokens.Length : 0;

    /// <summary>The first new token whose logits row is returned, and how many rows are.</summary>
    public int FirstLogitRow => Logits switch
    {
        LogitsKind.All => 0,
        LogitsKind.Last => Tokens.Length - 1,
        LogitsKind.Unstored => StoredCount,
        _ => Tokens.Length,
    };

    public int LogitRowCount => Tokens.Length - FirstLogitRow;

    /// <summary>Throws unless the input is well formed (tokens present, a stored prefix within them, B >= 1).</summary>
    public void Validate(int index)
    {
        if (Tokens is null || Tokens.Length == 0) throw new ArgumentException($"sequence {index} of the batch has no tokens");
        ArgumentNullException.ThrowIfNull(Cache, $"batch[{index}].Cache");
        if (Attention == AttentionKind.BlockCausal && BlockLength < 1)
            throw new ArgumentException($"sequence {index}: block length must be at least 1; got {BlockLength}");
        if (StoredPrefix is int prefix && (!StoreKv || prefix < 0 || prefix > Tokens.Length))
            throw new ArgumentException($"sequence {index}: a stored prefix of {prefix} needs StoreKv and 0..{Tokens.Length} tokens");
    }
}

/// <summary>
/// A stateless language model: weights only. Caches belong to the caller (the engine).
/// A forward may carry several sequences, each with its own attention; each sequence's numbers never depend on the
/// others (batch invariance).
/// </summary>
public interface ILanguageModel
{
    ModelConfig Config { get; }

    /// <summary>
    /// Runs the new tokens of every sequence through the model against its cache.
    /// Returns, per sequence, its logits as (rows, vocab) row-major, rows as its <see cref="SequenceInput.Logits"/> asks.
    /// </summary>
    float[][] Forward(IReadOnlyList<SequenceInput> batch);
}

public static class LanguageModelExtensions
{
    /// <summary>A forward where every sequence attends the same way.</summary>
    public static float[][] Forward(this ILanguageModel model, IReadOnlyList<SequenceInput> batch, AttentionKind attention, int blockLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        return model.Forward(batch.Select(input => input with { Attention = attention, BlockLength = blockLength }).ToArray());
    }
}
