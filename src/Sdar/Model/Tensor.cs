using System.Runtime.Intrinsics;

namespace Sdar.Model;

/// <summary>
/// A read-only view of a weight tensor in its stored precision. The bytes usually live in a memory-mapped
/// safetensors file (the owner keeps the mapping alive); tests and the random-model builder use managed arrays.
/// Row-major, like PyTorch: a Linear weight is (out_features, in_features).
/// </summary>
public sealed unsafe class WeightTensor
{
    private readonly byte* _data;
    // Quantized formats only: one fp16 scale per group of 32 inputs, (rows, columns / 32) row-major.
    private readonly ushort* _scales;
    // Keeps managed backing storage alive and pinned when the tensor is not file-backed.
    private readonly System.Runtime.InteropServices.GCHandle _pin;
    // Keeps unmanaged backing storage (freed by the owner's finalizer) alive as long as the tensor.
    private readonly object? _owner;

    public string Name { get; }
    public DType DType { get; }
    public IReadOnlyList<int> Shape { get; }
    public long ElementCount { get; }

    public WeightTensor(string name, DType dtype, IReadOnlyList<int> shape, byte* data)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = shape.Aggregate(1L, (a, b) => a * b);
        _data = data;
    }

    /// <summary>
    /// Wraps memory that <paramref name="owner"/> owns; the tensor keeps the owner reachable, so memory freed by the
    /// owner's finalizer lives at least as long as the tensor (the random-model builder's native buffers).
    /// </summary>
    public WeightTensor(string name, DType dtype, IReadOnlyList<int> shape, byte* data, object owner)
        : this(name, dtype, shape, data)
    {
        _owner = owner;
    }

    /// <summary>
    /// A group-quantized matrix (<see cref="DType.Q8_0"/> or <see cref="DType.Q4_0"/>) of logical shape
    /// (rows, columns): <paramref name="values"/> holds the packed values row-major, <paramref name="scales"/> the fp16
    /// scales, (rows, columns / 32). <paramref name="owner"/> keeps the memory of both alive (a mapping or buffers).
    /// </summary>
    public WeightTensor(string name, DType format, IReadOnlyList<int> shape, byte* values, ushort* scales, object? owner)
        : this(name, format, shape, values)
    {
        if (!format.IsQuantized()) throw new ArgumentException($"tensor '{name}': {format} is not a quantized format", nameof(format));
        if (shape.Count != 2 || shape[1] % QuantizedGroup.Size != 0)
            throw new ArgumentException($"tensor '{name}': a {format} matrix needs 2 dimensions and a multiple of {QuantizedGroup.Size} columns; got [{string.Join(", ", shape)}]");
        _scales = scales;
        _owner = owner;
    }

    /// <summary>Wraps a managed byte array (pinned for the tensor's lifetime).</summary>
    public WeightTensor(string name, DType dtype, IReadOnlyList<int> shape, byte[] bytes)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = shape.Aggregate(1L, (a, b) => a * b);
        if (bytes.LongLength != ElementCount * dtype.SizeInBytes())
            throw new ArgumentException($"tensor '{name}': {bytes.LongLength} bytes given, {ElementCount * dtype.SizeInBytes()} expected");
        _pin = System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
        _data = (byte*)_pin.AddrOfPinnedObject();
    }

    ~WeightTensor()
    {
        if (_pin.IsAllocated) _pin.Free();
    }

    /// <summary>The stored values; for a quantized format, the packed values (its scales are <see cref="Scales"/>).</summary>
    public byte* Data => _data;
    /// <summary>Quantized formats: the fp16 scales, (rows, columns / 32); null otherwise.</summary>
    public ushort* Scales => _scales;
    /// <summary>Bytes the tensor takes, packed values and scales together.</summary>
    public long ByteLength => DType.IsQuantized()
        ? Kernels.Formats.WeightFormats.Of(DType).ByteLength(Rows, Columns)
        : ElementCount * DType.SizeInBytes();
    public int Rows => Shape.Count == 1 ? 1 : Shape[0];
    public int Columns => Shape[^1];

    /// <summary>Element <paramref name="index"/> (flat) as float; slow, for reference code and tests.</summary>
    public float GetFloat(long index) => DType switch
    {
        DType.F32 => ((float*)_data)[index],
        DType.BF16 => BitConverter.Int32BitsToSingle(((ushort*)_data)[index] << 16),
        DType.F16 => (float)((Half*)_data)[index],
        DType.I8 => ((sbyte*)_data)[index],
        DType.U8 => _data[index],
        _ => Kernels.Formats.WeightFormats.Of(DType).Dequantize(this, index),
    };

    /// <summary>Converts row <paramref name="row"/> of a 2-D tensor to float.</summary>
    public void ReadRow(int row, Span<float> destination)
    {
        long start = (long)row * Columns;
        int i = 0;
        if (DType == DType.BF16 && Vector256.IsHardwareAccelerated)
        {
            // The embedding of every new token, by the calling thread while the workers wait: element by element through
            // GetFloat it was about 1 % of a forward of sdar-mini on two threads. The same values: bf16 is float's high half.
            ushort* bits = (ushort*)_data + start;
            for (; i + 8 <= Columns; i += 8)
            {
                var (low, high) = Vector128.Widen(Vector128.Load(bits + i));
                (Vector256.Create(low, high) << 16).AsSingle().CopyTo(destination.Slice(i, 8));
            }
        }
        for (; i < Columns; i++) destination[i] = GetFloat(start + i);
    }

    /// <summary>The whole tensor as float (copies); for small tensors such as norms.</summary>
    public float[] ToFloatArray()
    {
        var result = new float[ElementCount];
        for (long i = 0; i < ElementCount; i++) result[i] = GetFloat(i);
        return result;
    }
}
