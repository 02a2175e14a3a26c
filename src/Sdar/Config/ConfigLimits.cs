namespace Sdar.Config;

/// <summary>
/// Upper bounds on <c>config.json</c> sizes. Each is far above every released model (Qwen3-235B: hidden 4096,
/// 94 layers, 128 experts; Llama 3.1-405B: hidden 16384, 126 layers; vocabularies up to 262,144; contexts up to
/// 10M positions), so a config beyond them is corrupt or hostile, and refusing it keeps every size the engine
/// derives (widths, element counts, byte counts) well inside 64-bit and array limits.
/// </summary>
public static class ConfigLimits
{
    public const int MaxHiddenSize = 1 << 17;
    public const int MaxIntermediateSize = 1 << 20;
    public const int MaxLayers = 4096;
    public const int MaxHeads = 4096;
    public const int MaxHeadDim = 4096;
    public const int MaxVocabSize = 1 << 24;
    public const int MaxPositions = 1 << 28;
    public const int MaxBlockSize = 1 << 16;
    public const int MaxExperts = 1 << 16;
    /// <summary>num_attention_heads x head_dim: one row of activations, an int in the engine.</summary>
    public const long MaxWidth = 1 << 20;
    public const long MaxTensorElements = 1L << 36;
    public const long MaxParameters = 100_000_000_000_000;
}
