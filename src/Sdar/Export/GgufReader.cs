using System.Buffers.Binary;
using System.Text;

namespace Sdar.Export;

/// <summary>One tensor of a GGUF file: dimensions innermost first, and where its data starts in the file.</summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, IReadOnlyList<long> Dimensions, long FileOffset)
{
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => GgufFormat.TensorBytes(Type, Dimensions);
}

/// <summary>
/// Reads a GGUF v3 file: its metadata (scalars as their .NET type, arrays as typed .NET arrays: <c>string[]</c>,
/// <c>int[]</c>, <c>uint[]</c>, <c>float[]</c>, ...) and its tensors, whose data is read on request. It checks the
/// container (magic, version, bounds, alignment, that tensors do not overlap); an unusable file is a
/// <see cref="CheckpointException"/> naming the file and what is wrong.
/// </summary>
public sealed class GgufReader
{
    // A corrupt length should fail as such, not as an attempt to allocate gigabytes.
    private const long MaxStringBytes = 1 << 26;

    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    public string Path { get; }
    public uint Version { get; }
    public int Alignment { get; }
    public IReadOnlyDictionary<string, object> Metadata { get; }
    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    private GgufReader(string path, uint version, int alignment, Dictionary<string, object> metadata, List<GgufTensorInfo> tensors)
    {
        Path = path;
        Version = version;
        Alignment = alignment;
        Metadata = metadata;
        Tensors = tensors;
        _tensorsByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public static GgufReader Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path)) throw new CheckpointException($"{path}: GGUF file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var r = new Cursor(stream, path);
        uint magic = r.UInt32();
        if (magic != GgufFormat.Magic)
            throw new CheckpointException($"{path}: not a GGUF file (it starts with 0x{magic:x8}, expected \"GGUF\")");
        uint version = r.UInt32();
        if (version != GgufFormat.Version) throw new CheckpointException($"{path}: GGUF version {version}; only version {GgufFormat.Version} is read");
        ulong tensorCount = r.UInt64(), metadataCount = r.UInt64();
        if (tensorCount > 1_000_000 || metadataCount > 1_000_000)
            throw new CheckpointException($"{path}: implausible header ({tensorCount} tensors, {metadataCount} metadata entries)");

        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (ulong i = 0; i < metadataCount; i++)
        {
            string key = r.String();
            var type = (GgufValueType)r.UInt32();
            if (!metadata.TryAdd(key, ReadValue(r, type, key)))
                throw new CheckpointException($"{path}: metadata key '{key}' appears twice");
        }
        int alignment = GgufFormat.DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var a))
        {
            if (a is not uint value || value == 0 || (value & (value - 1)) != 0)
                throw new CheckpointException($"{path}: general.alignment must be a power of two (uint32); got {a}");
            alignment = (int)value;
        }

        var infos = new List<(string Name, GgmlType Type, long[] Dims, long Offset)>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = r.String();
            uint dimensionCount = r.UInt32();
            if (dimensionCount is < 1 or > 4) throw new CheckpointException($"{path}: tensor '{name}' has {dimensionCount} dimensions (1 to 4 expected)");
            var dims = new long[dimensionCount];
            for (int d = 0; d < dims.Length; d++)
            {
                ulong n = r.UInt64();
                if (n is 0 or > int.MaxValue) throw new CheckpointException($"{path}: tensor '{name}' dimension {d} is {n}");
                dims[d] = (long)n;
            }
            uint type = r.UInt32();
            if (!Enum.IsDefined((GgmlType)type)) throw new CheckpointException($"{path}: tensor '{name}' has ggml type {type}, which this reader does not know");
            ulong offset = r.UInt64();
            if (offset % (ulong)alignment != 0) throw new CheckpointException($"{path}: tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
            infos.Add((name, (GgmlType)type, dims, (long)offset));
        }
        long dataStart = GgufFormat.Align(stream.Position, alignment);
        var tensors = new List<GgufTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, type, dims, offset) in infos)
        {
            if (!names.Add(name)) throw new CheckpointException($"{path}: tensor '{name}' appears twice");
            GgufTensorInfo info;
            try
            {
                info = new GgufTensorInfo(name, type, dims, dataStart + offset);
                _ = info.ByteLength;
            }
            catch (ArgumentException e)
            {
                throw new CheckpointException($"{path}: tensor '{name}': {e.Message}");
            }
            if (info.FileOffset + info.ByteLength > stream.Length)
                throw new CheckpointException($"{path}: tensor '{name}' ends at byte {info.FileOffset + info.ByteLength}, beyond the end of the file ({stream.Length} bytes): truncated");
            tensors.Add(info);
        }
        var sorted = tensors.OrderBy(t => t.FileOffset).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i - 1].FileOffset + sorted[i - 1].ByteLength > sorted[i].FileOffset)
                throw new CheckpointException($"{path}: tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
        return new GgufReader(path, version, alignment, metadata, tensors);
    }

    public GgufTensorInfo Tensor(string name) =>
        _tensorsByName.TryGetValue(name, out var info) ? info : throw new CheckpointException($"{Path}: no tensor '{name}'");

    public bool HasTensor(string name) => _tensorsByName.ContainsKey(name);

    /// <summary>The metadata value of <paramref name="key"/> as <typeparamref name="T"/>, or an error naming the key.</summary>
    public T Get<T>(string key) => Metadata.TryGetValue(key, out var value)
        ? value is T typed ? typed : throw new CheckpointException($"{Path}: metadata '{key}' is a {value.GetType().Name}, expected {typeof(T).Name}")
        : throw new CheckpointException($"{Path}: metadata '{key}' is missing");

    /// <summary>The raw bytes of a tensor.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = Tensor(name);
        var bytes = new byte[info.ByteLength];
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        stream.Position = info.FileOffset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>A tensor's values as floats (F16, BF16, Q8_0 and Q4_0 converted), in file order (ne0 fastest).</summary>
    public float[] ReadFloats(string name)
    {
        var info = Tensor(name);
        byte[] bytes = ReadBytes(name);
        var values = new float[info.ElementCount];
        switch (info.Type)
        {
            case GgmlType.F32:
                for (long i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(i * 4)));
                break;
            case GgmlType.F16:
                for (long i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan((int)(i * 2)));
                break;
            case GgmlType.BF16:
                for (long i = 0; i < values.Length; i++) values[i] = GgmlQuantization.FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)(i * 2))));
                break;
            case GgmlType.Q8_0:
                GgmlQuantization.DequantizeQ8_0(bytes, values);
                break;
            case GgmlType.Q4_0:
                GgmlQuantization.DequantizeQ4_0(bytes, values);
                break;
        }
        return values;
    }

    private static object ReadValue(Cursor r, GgufValueType type, string key)
    {
        if (type != GgufValueType.Array) return ReadScalar(r, type, key);
        var elementType = (GgufValueType)r.UInt32();
        ulong count = r.UInt64();
        if (count > (ulong)(r.Remaining)) throw new CheckpointException($"{r.Path}: metadata '{key}' claims {count} elements, more than the file holds");
        int n = (int)count;
        return elementType switch
        {
            GgufValueType.String => Fill(n, () => r.String()),
            GgufValueType.Int32 => Fill(n, r.Int32),
            GgufValueType.UInt32 => Fill(n, r.UInt32),
            GgufValueType.Float32 => Fill(n, r.Float32),
            GgufValueType.Array => throw new CheckpointException($"{r.Path}: metadata '{key}' is an array of arrays, which this reader does not read"),
            _ => Fill(n, () => ReadScalar(r, elementType, key)),
        };
    }

    private static T[] Fill<T>(int count, Func<T> read)
    {
        var items = new T[count];
        for (int i = 0; i < count; i++) items[i] = read();
        return items;
    }

    private static object ReadScalar(Cursor r, GgufValueType type, string key) => type switch
    {
        GgufValueType.UInt8 => r.Bytes(1)[0],
        GgufValueType.Int8 => (sbyte)r.Bytes(1)[0],
        GgufValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(r.Bytes(2)),
        GgufValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(r.Bytes(2)),
        GgufValueType.UInt32 => r.UInt32(),
        GgufValueType.Int32 => r.Int32(),
        GgufValueType.Float32 => r.Float32(),
        GgufValueType.Bool => r.Bytes(1)[0] switch
        {
            0 => false,
            1 => true,
            var b => throw new CheckpointException($"{r.Path}: metadata '{key}' is a bool of value {b} (0 or 1 expected)"),
        },
        GgufValueType.String => r.String(),
        GgufValueType.UInt64 => r.UInt64(),
        GgufValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(r.Bytes(8)),
        GgufValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(r.Bytes(8)),
        _ => throw new CheckpointException($"{r.Path}: metadata '{key}' has value type {(uint)type}, which GGUF does not define"),
    };

    /// <summary>Little-endian reads that fail with the file's name when it ends early.</summary>
    private sealed class Cursor(Stream stream, string path)
    {
        private readonly byte[] _scratch = new byte[8];
        public string Path => path;
        public long Remaining => stream.Length - stream.Position;

        public byte[] Bytes(int count)
        {
            var buffer = count <= 8 ? _scratch : new byte[count];
            try
            {
                stream.ReadExactly(buffer, 0, count);
            }
            catch (EndOfStreamException)
            {
                throw new CheckpointException($"{path}: the file ends inside its header (truncated)");
            }
            return buffer;
        }

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));
        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));
        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));
        public float Float32() => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4));

        public string String()
        {
            ulong length = UInt64();
            if (length > MaxStringBytes || (long)length > Remaining)
                throw new CheckpointException($"{path}: a string of {length} bytes in the header goes beyond the file (truncated or corrupt)");
            return Encoding.UTF8.GetString(Bytes((int)length), 0, (int)length);
        }
    }
}
