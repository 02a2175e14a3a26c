using Sdar.Config;

namespace Sdar.Checkpoints;

/// <summary>
/// The configs of the released SDAR models (DESIGN section 5), for random-weight benchmarks at real sizes, and
/// tiny configs for tests.
/// </summary>
public static class ModelShapes
{
    /// <summary>SDAR's <c>&lt;|MASK|&gt;</c> id in the Qwen3 vocabulary.</summary>
    public const int SdarMaskTokenId = 151669;
    public const int QwenVocabSize = 151936;
    /// <summary><c>&lt;|endoftext|&gt;</c>, the eos of Qwen3's config.json.</summary>
    public const int QwenEndOfText = 151643;

    private static readonly Dictionary<string, Func<ModelConfig>> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sdar-1.7b"] = () => Sdar(hidden: 2048, layers: 28, heads: 16, kvHeads: 8, intermediate: 6144, tied: true),
        ["sdar-4b"] = () => Sdar(hidden: 2560, layers: 36, heads: 32, kvHeads: 8, intermediate: 9728, tied: true),
        ["sdar-8b"] = () => Sdar(hidden: 4096, layers: 36, heads: 32, kvHeads: 8, intermediate: 12288, tied: false),
    };

    public static IReadOnlyList<string> Names => Known.Keys.ToList();

    /// <summary>The config of a released model: "sdar-1.7b", "sdar-4b" or "sdar-8b" (case-insensitive).</summary>
    public static ModelConfig Get(string name) =>
        Known.TryGetValue(name, out var make)
            ? make()
            : throw new ArgumentException($"unknown model shape '{name}' (known: {string.Join(", ", Known.Keys)})", nameof(name));

    /// <summary>
    /// A tiny SDAR config with the fixture's shape (tests/fixtures/sdar-golden: vocab 512, hidden 64, 2 layers,
    /// 4 query / 2 KV heads of 16, block 4, mask 511, eos 510); <paramref name="moe"/> gives an
    /// <c>sdar_moe</c> with 4 experts, top-2.
    /// </summary>
    public static ModelConfig Tiny(bool moe = false)
    {
        var dense = new ModelConfig
        {
            ModelType = "sdar",
            HiddenSize = 64,
            IntermediateSize = 128,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            HeadDim = 16,
            VocabSize = 512,
            RopeTheta = 10000.0,
            RmsNormEps = 1e-6,
            MaxPositionEmbeddings = 1024,
            TieWordEmbeddings = false,
            BlockSize = 4,
            MaskTokenId = 511,
            EosTokenId = 510,
            EosTokenIds = [510],
            PadTokenId = 510,
        };
        return moe
            ? dense with
            {
                ModelType = "sdar_moe",
                NumExperts = 4,
                NumExpertsPerTok = 2,
                MoeIntermediateSize = 32,
                DecoderSparseStep = 1,
                NormTopkProb = true,
            }
            : dense;
    }

    private static ModelConfig Sdar(int hidden, int layers, int heads, int kvHeads, int intermediate, bool tied) => new()
    {
        ModelType = "sdar",
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        HeadDim = 128,
        VocabSize = QwenVocabSize,
        RopeTheta = 1_000_000.0,
        RmsNormEps = 1e-6,
        MaxPositionEmbeddings = 32768,
        TieWordEmbeddings = tied,
        TorchDtype = "bfloat16",
        BlockSize = 4,
        MaskTokenId = SdarMaskTokenId,
        BosTokenId = QwenEndOfText,
        EosTokenId = QwenEndOfText,
        EosTokenIds = [QwenEndOfText],
    };
}
