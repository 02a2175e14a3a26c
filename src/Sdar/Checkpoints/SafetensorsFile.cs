using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// A memory-mapped <c>.safetensors</c> file (DESIGN section 5): an 8-byte little-endian header length, a JSON header
/// mapping tensor names to <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (relative to the data region that
/// follows the header), optional <c>__metadata__</c>, then raw little-endian data.
/// The weights are never copied: every <see cref="WeightTensor"/> points into the mapping, so they are valid
/// only until this object is disposed.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation refuses headers above 100 MB; so do we (a corrupt length is likelier).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private bool _pointerAcquired;

    /// <summary>The file's full path, used in every error message.</summary>
    public string Path { get; }
    public long Length { get; }
    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; private set; } = new Dictionary<string, WeightTensor>();
    /// <summary>The header's <c>__metadata__</c> (e.g. <c>{"format": "pt"}</c>); empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    private SafetensorsFile(string path, long length, MemoryMappedFile mapping, MemoryMappedViewAccessor view)
    {
        Path = path;
        Length = length;
        _mapping = mapping;
        _view = view;
    }

    /// <summary>Maps <paramref name="path"/> and validates its header; any defect is a <see cref="CheckpointException"/>.</summary>
    public static SafetensorsFile Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        // The hub cache stores weights as links into blobs/: map the final target, report the name the folder uses.
        string target = CheckpointFiles.RequireRegularFile(path, "safetensors file");
        long length = new FileInfo(target).Length;
        if (length < 8)
            throw new CheckpointException($"{path}: truncated: {length} bytes, but a safetensors file starts with an 8-byte header length");

        FileStream stream;
        try
        {
            stream = new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot open the safetensors file: {e.Message}", e);
        }
        MemoryMappedFile mapping;
        try
        {
            mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new CheckpointException($"{path}: cannot map the safetensors file: {e.Message}", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        MemoryMappedViewAccessor view;
        try
        {
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            mapping.Dispose();
            throw new CheckpointException($"{path}: cannot map the safetensors file: {e.Message}", e);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
        var file = new SafetensorsFile(path, length, mapping, view);
        try
        {
            byte* start = null;
            file._view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            file._pointerAcquired = true;
            file.ReadHeader(start + file._view.PointerOffset);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void ReadHeader(byte* fileStart)
    {
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(fileStart, 8));
        if (headerLength > (ulong)(Length - 8))
            throw new CheckpointException(
                $"{Path}: the header length {headerLength} goes beyond the end of the file ({Length} bytes): truncated, or not a safetensors file");
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException($"{Path}: the header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");

        // Strict UTF-8, no lone surrogates (in tensor names and __metadata__ too), no duplicate names.
        using var header = JsonFile.Parse(new ReadOnlySpan<byte>(fileStart + 8, (int)headerLength), $"{Path}: the header");

        if (header.RootElement.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{Path}: the header must be a JSON object, found {header.RootElement.ValueKind}");

        long dataStart = 8 + (long)headerLength;
        long dataLength = Length - dataStart;
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        var spans = new List<(long Begin, long End, string Name)>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                Metadata = ReadMetadata(entry.Value);
                continue;
            }
            var (dtype, shape, begin, end) = ReadEntry(entry.Name, entry.Value, dataLength);
            tensors.Add(entry.Name, new WeightTensor(entry.Name, dtype, shape, fileStart + dataStart + begin));
            spans.Add((begin, end, entry.Name));
        }
        CheckNoOverlap(spans);
        Tensors = tensors;
    }

    private (DType DType, int[] Shape, long Begin, long End) ReadEntry(string name, JsonElement entry, long dataLength)
    {
        string Where() => $"{Path}: tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{Where()}: the header entry must be an object with dtype, shape and data_offsets");

        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointException($"{Where()}: the header entry has no \"dtype\" string");
        string dtypeName = dtypeElement.GetString()!;
        DType dtype = dtypeName switch
        {
            "BF16" => DType.BF16,
            "F16" => DType.F16,
            "F32" => DType.F32,
            "I8" => DType.I8,
            "U8" => DType.U8,
            _ => throw new CheckpointException(
                $"{Where()}: dtype '{dtypeName}' is not supported (supported: BF16, F16, F32, and I8 / U8 for packed quantized weights)"),
        };

        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointException($"{Where()}: the header entry has no \"shape\" array");
        var shape = new int[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d))
                throw new CheckpointException($"{Where()}: shape {shapeElement.GetRawText()} must hold integers");
            if (d < 0)
                throw new CheckpointException($"{Where()}: shape {shapeElement.GetRawText()} has a negative dimension {d}");
            if (d > int.MaxValue)
                throw new CheckpointException($"{Where()}: shape {shapeElement.GetRawText()} has a dimension above {int.MaxValue}");
            shape[i++] = (int)d;
        }

        long begin = 0, end = -1;
        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array ||
            offsets.GetArrayLength() != 2 ||
            offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number ||
            !offsets[0].TryGetInt64(out begin) || !offsets[1].TryGetInt64(out end) || begin < 0 || end < begin)
            throw new CheckpointException(
                $"{Where()}: data_offsets must be [begin, end] with 0 <= begin <= end, found {(offsets.ValueKind == JsonValueKind.Undefined ? "nothing" : offsets.GetRawText())}");

        long expectedBytes;
        try
        {
            expectedBytes = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw new CheckpointException($"{Where()}: shape {shapeElement.GetRawText()} is too large");
        }
        if (end - begin != expectedBytes)
            throw new CheckpointException(
                $"{Where()}: data_offsets [{begin}, {end}] span {end - begin} bytes, but shape {shapeElement.GetRawText()} of {dtypeName} needs {expectedBytes}");
        if (end > dataLength)
            throw new CheckpointException(
                $"{Where()}: data_offsets [{begin}, {end}] lie outside the data region ({dataLength} bytes after the header): the file is truncated or the header is corrupt");
        return (dtype, shape, begin, end);
    }

    private Dictionary<string, string> ReadMetadata(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{Path}: __metadata__ must be an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException($"{Path}: __metadata__ value '{item.Name}' must be a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
        return metadata;
    }

    private void CheckNoOverlap(List<(long Begin, long End, string Name)> spans)
    {
        spans.RemoveAll(s => s.Begin == s.End);
        spans.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        for (int i = 1; i < spans.Count; i++)
        {
            if (spans[i].Begin < spans[i - 1].End)
                throw new CheckpointException(
                    $"{Path}: tensors '{spans[i - 1].Name}' and '{spans[i].Name}' overlap (data_offsets [{spans[i - 1].Begin}, {spans[i - 1].End}] and [{spans[i].Begin}, {spans[i].End}])");
        }
    }

    public void Dispose()
    {
        if (_pointerAcquired)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointerAcquired = false;
        }
        _view.Dispose();
        _mapping.Dispose();
    }
}
