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
}

/// <summary>
/// One sequence's part of a forward: the new tokens, which occupy positions Cache.Length .. Cache.Length+T-1,
/// and whether their keys/values are appended to the cache (a "commit") or only used for this forward.
/// </summary>
public sealed record SequenceInput(int[] Tokens, KvCache Cache, bool StoreKv, LogitsKind Logits = LogitsKind.All);

/// <summary>
/// A stateless language model: weights only. Caches belong to the caller (the engine).
/// A forward may carry several sequences; each sequence's numbers never depend on the others (batch invariance).
/// </summary>
public interface ILanguageModel
{
    ModelConfig Config { get; }

    /// <summary>
    /// Runs the new tokens of every sequence through the model against its cache.
    /// Returns, per sequence, its logits as (rows, vocab) row-major, rows as its <see cref="SequenceInput.Logits"/> asks.
    /// </summary>
    /// <param name="blockLength">B for <see cref="AttentionKind.BlockCausal"/>; ignored for causal attention.</param>
    float[][] Forward(IReadOnlyList<SequenceInput> batch, AttentionKind attention, int blockLength);
}
