// CA1720: the value-type names (UInt32, String, ...) are the GGUF specification's own.
#pragma warning disable CA1720

using System.Text;

namespace Sdar.Export;

/// <summary>One metadata value: scalars as their .NET type, arrays as a typed .NET array with their element type.</summary>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufValue String(string value) => new(GgufValueType.String, value);
    public static GgufValue UInt32(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Int32(int value) => new(GgufValueType.Int32, value);
    public static GgufValue Float32(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Bool(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue Strings(IReadOnlyList<string> values) => new(GgufValueType.Array, values.ToArray(), GgufValueType.String);
    public static GgufValue Int32s(IReadOnlyList<int> values) => new(GgufValueType.Array, values.ToArray(), GgufValueType.Int32);
}

/// <summary>
/// A tensor to write: its name, element type, dimensions innermost first (ggml's ne0, ne1: a PyTorch (out, in)
/// Linear weight is [in, out]) and a callback that writes exactly its bytes, row after row.
/// </summary>
public sealed record GgufTensorEntry(string Name, GgmlType Type, IReadOnlyList<long> Dimensions, Action<Stream> WriteData)
{
    public long ByteLength => GgufFormat.TensorBytes(Type, Dimensions);
}

/// <summary>
/// Writes a GGUF v3 file (<see cref="GgufFormat"/>): metadata in the order it was added, then the tensor infos
/// with offsets laid out at the alignment, then each tensor's data as its callback streams it, so a model far
/// larger than memory is written without holding more than a row in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<GgufTensorEntry> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    public GgufWriter(int alignment = GgufFormat.DefaultAlignment)
    {
        if (alignment < 1 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "the alignment must be a power of two");
        Alignment = alignment;
        if (alignment != GgufFormat.DefaultAlignment) Add("general.alignment", GgufValue.UInt32((uint)alignment));
    }

    public int Alignment { get; }
    public IReadOnlyList<GgufTensorEntry> Tensors => _tensors;

    public void Add(string key, GgufValue value)
    {
        if (!_keys.Add(key)) throw new ArgumentException($"GGUF metadata key '{key}' is set twice");
        _metadata.Add(new(key, value));
    }

    public void AddTensor(GgufTensorEntry tensor)
    {
        if (!_tensorNames.Add(tensor.Name)) throw new ArgumentException($"GGUF tensor '{tensor.Name}' is added twice");
        if (tensor.Dimensions.Count is < 1 or > 4 || tensor.Dimensions.Any(d => d < 1))
            throw new ArgumentException($"GGUF tensor '{tensor.Name}': 1 to 4 positive dimensions expected; got [{string.Join(", ", tensor.Dimensions)}]");
        _ = tensor.ByteLength;   // a Q8_0 tensor whose rows are not whole blocks fails here, before anything is written
        _tensors.Add(tensor);
    }

    /// <summary>Writes the whole file to <paramref name="stream"/> (which must be at its start or count from there).</summary>
    public void WriteTo(Stream stream)
    {
        var output = new CountingStream(stream);
        using (var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(GgufFormat.Magic);
            w.Write(GgufFormat.Version);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_metadata.Count);
            foreach (var (key, value) in _metadata)
            {
                WriteString(w, key);
                w.Write((uint)value.Type);
                WriteValue(w, value);
            }
            long offset = 0;
            foreach (var tensor in _tensors)
            {
                WriteString(w, tensor.Name);
                w.Write((uint)tensor.Dimensions.Count);
                foreach (long d in tensor.Dimensions) w.Write((ulong)d);
                w.Write((uint)tensor.Type);
                w.Write((ulong)offset);
                offset = GgufFormat.Align(offset + tensor.ByteLength, Alignment);
            }
            w.Flush();
        }
        Pad(output);
        foreach (var tensor in _tensors)
        {
            long start = output.Written;
            tensor.WriteData(output);
            long written = output.Written - start;
            if (written != tensor.ByteLength)
                throw new InvalidOperationException($"GGUF tensor '{tensor.Name}': {written} bytes written, {tensor.ByteLength} expected");
            Pad(output);
        }
        output.Flush();
    }

    private void Pad(CountingStream output)
    {
        long padding = GgufFormat.Align(output.Written, Alignment) - output.Written;
        if (padding > 0) output.Write(new byte[padding]);
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue value)
    {
        if (value.Type != GgufValueType.Array)
        {
            WriteScalar(w, value.Type, value.Value);
            return;
        }
        var items = (Array)value.Value;
        w.Write((uint)value.ElementType);
        w.Write((ulong)items.Length);
        foreach (object item in items) WriteScalar(w, value.ElementType, item);
    }

    private static void WriteScalar(BinaryWriter w, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)value); break;
            case GgufValueType.Int8: w.Write((sbyte)value); break;
            case GgufValueType.UInt16: w.Write((ushort)value); break;
            case GgufValueType.Int16: w.Write((short)value); break;
            case GgufValueType.UInt32: w.Write((uint)value); break;
            case GgufValueType.Int32: w.Write((int)value); break;
            case GgufValueType.Float32: w.Write((float)value); break;
            case GgufValueType.Bool: w.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.UInt64: w.Write((ulong)value); break;
            case GgufValueType.Int64: w.Write((long)value); break;
            case GgufValueType.Float64: w.Write((double)value); break;
            default: throw new ArgumentException($"GGUF value type {type} cannot be an array element here");
        }
    }

    /// <summary>Counts the bytes that pass, so offsets and tensor sizes are checked without a seekable stream.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }
    }
}
