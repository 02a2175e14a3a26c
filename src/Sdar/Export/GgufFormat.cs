// CA1720: the value-type names (UInt32, String, ...) are the GGUF specification's own.
#pragma warning disable CA1720

namespace Sdar.Export;

/// <summary>
/// The element types of ggml tensors this project writes and reads, with ggml's numbering (<c>enum ggml_type</c>;
/// gguf-py <c>GGMLQuantizationType</c>).
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    BF16 = 30,
}

/// <summary>The value types of GGUF metadata (gguf-py <c>GGUFValueType</c>).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>llama.cpp's token types (<c>tokenizer.ggml.token_type</c>, gguf-py <c>TokenType</c>).</summary>
public enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// The fixed facts of the GGUF v3 container (ggml <c>docs/gguf.md</c>): a little-endian header "GGUF", version,
/// tensor count and metadata count; the metadata key/value pairs; one info record per tensor (name, dimensions
/// innermost first, type, offset into the data section); padding to the alignment; the tensor data, each tensor
/// starting at a multiple of the alignment.
/// </summary>
public static class GgufFormat
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    public const uint Version = 3;
    /// <summary>The alignment when <c>general.alignment</c> is absent; what llama.cpp's converter writes.</summary>
    public const int DefaultAlignment = 32;
    /// <summary>Elements per Q8_0 block: one fp16 scale and 32 signed bytes (<c>block_q8_0</c>).</summary>
    public const int Q8BlockElements = 32;
    public const int Q8BlockBytes = 2 + Q8BlockElements;
    /// <summary>Elements per Q4_0 block: one fp16 scale and 16 bytes of two 4-bit values each (<c>block_q4_0</c>).</summary>
    public const int Q4BlockElements = 32;
    public const int Q4BlockBytes = 2 + Q4BlockElements / 2;

    /// <summary>Bytes of a row of <paramref name="elements"/> elements of <paramref name="type"/>.</summary>
    public static long RowBytes(GgmlType type, long elements) => type switch
    {
        GgmlType.F32 => elements * 4,
        GgmlType.F16 or GgmlType.BF16 => elements * 2,
        GgmlType.Q8_0 when elements % Q8BlockElements == 0 => elements / Q8BlockElements * Q8BlockBytes,
        GgmlType.Q8_0 => throw new ArgumentException($"a Q8_0 row holds whole blocks of {Q8BlockElements} elements; got {elements}"),
        GgmlType.Q4_0 when elements % Q4BlockElements == 0 => elements / Q4BlockElements * Q4BlockBytes,
        GgmlType.Q4_0 => throw new ArgumentException($"a Q4_0 row holds whole blocks of {Q4BlockElements} elements; got {elements}"),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type"),
    };

    /// <summary>Bytes of a tensor with dimensions <paramref name="dimensions"/> (ne0, the innermost, first).</summary>
    public static long TensorBytes(GgmlType type, IReadOnlyList<long> dimensions)
    {
        long rows = 1;
        for (int i = 1; i < dimensions.Count; i++) rows *= dimensions[i];
        return RowBytes(type, dimensions.Count == 0 ? 1 : dimensions[0]) * rows;
    }

    public static long Align(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;
}
