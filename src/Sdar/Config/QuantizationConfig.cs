using System.Text.Json.Serialization;
using Sdar.Model;

namespace Sdar.Config;

/// <summary>
/// <c>quantization_config</c> in <c>config.json</c> of a folder written by <c>sdar quantize</c>: every Linear weight
/// of the layers and the output head is stored as <c>NAME.qweight</c> (packed values) and <c>NAME.scales</c>
/// (fp16, one per group of <see cref="GroupSize"/> inputs) instead of <c>NAME.weight</c>; embeddings and norms
/// keep their precision.
/// </summary>
public sealed record QuantizationConfig
{
    /// <summary>The method's name as HF tools read it; always <see cref="MethodName"/>.</summary>
    public required string QuantMethod { get; init; }
    /// <summary>"q8_0" (int8 in <c>I8</c> tensors) or "q4_0" (two 4-bit values per <c>U8</c>).</summary>
    public required string Format { get; init; }
    public required int Bits { get; init; }
    public required int GroupSize { get; init; }

    public const string MethodName = "sdar_group";

    public static QuantizationConfig For(DType format) => format switch
    {
        DType.Q8_0 => new() { QuantMethod = MethodName, Format = "q8_0", Bits = 8, GroupSize = QuantizedGroup.Size },
        DType.Q4_0 => new() { QuantMethod = MethodName, Format = "q4_0", Bits = 4, GroupSize = QuantizedGroup.Size },
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a quantized format"),
    };

    /// <summary>The weight format <see cref="Format"/> names (validated by the config loader).</summary>
    [JsonIgnore]
    public DType WeightFormat => Format switch
    {
        "q8_0" => DType.Q8_0,
        "q4_0" => DType.Q4_0,
        _ => throw new InvalidOperationException($"quantization_config.format '{Format}' is not q8_0 or q4_0"),
    };
}
