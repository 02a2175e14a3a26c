namespace Sdar.Config;

/// <summary>
/// The architecture hyper-parameters of a Qwen3 / SDAR checkpoint, bound once from <c>config.json</c>
/// (snake_case keys, DESIGN section 5). Unknown keys are ignored; known keys of the wrong type are an error
/// that names the field. MoE fields are zero for dense models.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>"sdar", "qwen3", "sdar_moe" or "qwen3_moe".</summary>
    public required string ModelType { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public double RopeTheta { get; init; } = 1_000_000.0;
    public double RmsNormEps { get; init; } = 1e-6;
    public int MaxPositionEmbeddings { get; init; } = 32768;
    public bool TieWordEmbeddings { get; init; }
    public string TorchDtype { get; init; } = "bfloat16";

    /// <summary>SDAR only: the trained block length B (DESIGN section 1).</summary>
    public int BlockSize { get; init; }
    /// <summary>SDAR only: the id of the mask token used for diffusion.</summary>
    public int? MaskTokenId { get; init; }
    /// <summary>The end-of-sequence id; when <c>config.json</c> lists several, the first of them.</summary>
    public int? EosTokenId { get; init; }
    /// <summary>Every end-of-sequence id <c>config.json</c> gives (<c>eos_token_id</c> may be an int or a list).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }

    // Mixture-of-Experts (Qwen3-MoE).
    public int NumExperts { get; init; }
    public int NumExpertsPerTok { get; init; }
    public int MoeIntermediateSize { get; init; }
    public int DecoderSparseStep { get; init; } = 1;
    public bool NormTopkProb { get; init; }
    public IReadOnlyList<int> MlpOnlyLayers { get; init; } = [];

    /// <summary>Set when the Linear weights are stored group-quantized (<c>sdar quantize</c>); null otherwise.</summary>
    public QuantizationConfig? QuantizationConfig { get; init; }

    /// <summary>True for block diffusion checkpoints ("sdar", "sdar_moe"); false for AR ("qwen3", "qwen3_moe").</summary>
    public bool IsDiffusion => ModelType is "sdar" or "sdar_moe";

    public bool IsMoe => ModelType.EndsWith("_moe", StringComparison.Ordinal) && NumExperts > 0;

    /// <summary>Whether layer <paramref name="layer"/> uses the sparse MoE block (HF Qwen3-MoE rule).</summary>
    public bool IsMoeLayer(int layer) =>
        IsMoe && !MlpOnlyLayers.Contains(layer) && DecoderSparseStep > 0 && (layer + 1) % DecoderSparseStep == 0;
}
