namespace Sdar.Model;

/// <summary>
/// Element types a checkpoint tensor may be stored in: the float types, the raw integer types of packed tensors
/// (<see cref="I8"/>, <see cref="U8"/>), and the group-quantized matrix formats a Linear weight may be bound as
/// (<see cref="Q8_0"/>, <see cref="Q4_0"/>: packed values plus one fp16 scale per group of 32 along the input).
/// </summary>
public enum DType
{
    F32,
    F16,
    BF16,
    I8,
    U8,
    /// <summary>Symmetric int8, one fp16 scale per 32 inputs (ggml's Q8_0 arithmetic, planar layout).</summary>
    Q8_0,
    /// <summary>4-bit, one fp16 scale per 32 inputs, value = (nibble - 8) * scale (ggml's Q4_0 arithmetic).</summary>
    Q4_0,
}

public static class DTypeExtensions
{
    /// <summary>Bytes per element of a plain type; the quantized formats have no whole-byte element size.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        DType.BF16 => 2,
        DType.I8 => 1,
        DType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "a quantized format has no per-element size"),
    };

    /// <summary>Whether the type is a group-quantized matrix format (stored as packed values and scales).</summary>
    public static bool IsQuantized(this DType dtype) => dtype is DType.Q8_0 or DType.Q4_0;

    /// <summary>The safetensors header name of a plain type ("F32", "F16", "BF16", "I8", "U8").</summary>
    public static string SafetensorsName(this DType dtype) =>
        dtype.IsQuantized() ? throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "quantized formats are saved as packed tensors and scales") : dtype.ToString();
}
