namespace Sdar.Templates;

/// <summary>
/// What one parse or render of a chat template may use. Templates come with downloaded checkpoints, so they are
/// untrusted: every limit is enforced inside the interpreter, and hitting one throws a
/// <see cref="TemplateException"/> naming the template line, the limit and its value. The defaults are at least
/// 100 times what the real Qwen3, Llama 3, Mistral, Gemma and ChatML templates need for a 50-message
/// conversation (Qwen3 with tools; measured: at most 22,796 output characters, 127 loop iterations, no macro
/// calls, nesting depth 7, 1.2 MB allocated, 26 ms), so only a runaway template meets them.
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>The limits used when none are given.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Characters one render may write: the result, and any macro, set-block or filter-block text.</summary>
    public int MaxOutputChars { get; init; } = 16_000_000;

    /// <summary>Characters in any string an operation produces (<c>*</c>, <c>~</c>, <c>+</c>, join, replace, indent, tojson, ...).</summary>
    public int MaxStringChars { get; init; } = 16_000_000;

    /// <summary>Items in any list an operation produces (<c>range</c>, list <c>*</c> and <c>+</c>, ...).</summary>
    public int MaxListItems { get; init; } = 1_000_000;

    /// <summary>For-loop iterations in one render, all loops together (nested loops multiply).</summary>
    public long MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Macro calls in one render, all together (a macro that calls itself twice is exponential).</summary>
    public long MaxMacroCalls { get; init; } = 100_000;

    /// <summary>Macro calls active at once (recursion depth).</summary>
    public int MaxCallDepth { get; init; } = 100;

    /// <summary>Blocks and parenthesised expressions nested inside each other, checked by the parser.</summary>
    public int MaxNestingDepth { get; init; } = 1_000;

    /// <summary>Bytes one render may allocate in total (checked every few hundred operations).</summary>
    public long MaxAllocatedBytes { get; init; } = 1L << 30;

    /// <summary>Wall-clock time one render may take (checked every few hundred operations).</summary>
    public TimeSpan MaxRenderTime { get; init; } = TimeSpan.FromSeconds(10);
}
