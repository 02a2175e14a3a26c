namespace Sdar.Model;

/// <summary>Element types a checkpoint tensor may be stored in.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
}

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The safetensors header name of the type ("F32", "F16", "BF16").</summary>
    public static string SafetensorsName(this DType dtype) => dtype.ToString();
}
