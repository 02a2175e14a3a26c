using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// Writes tensors to a <c>.safetensors</c> file the way the HuggingFace library does: keys sorted, data laid out
/// in key order without gaps, the JSON header padded with spaces to a multiple of 8 bytes so the data is aligned.
/// The file is replaced atomically (<see cref="AtomicFile"/>).
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The metadata PyTorch checkpoints carry; <c>transformers</c> expects it.</summary>
    public static IReadOnlyDictionary<string, string> PyTorchMetadata { get; } =
        new Dictionary<string, string> { ["format"] = "pt" };

    // Spans passed to Stream.Write are limited to int.MaxValue bytes; large tensors go out in pieces.
    private const int ChunkBytes = 1 << 26;

    /// <summary>Writes <paramref name="tensors"/> (keyed by their names in the file) to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, WeightTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not");
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        byte[] header = BuildHeader(names, tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var name in names) WriteData(stream, tensors[name]);
        });
    }

    private static byte[] BuildHeader(List<string> names, IReadOnlyDictionary<string, WeightTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                var tensor = tensors[name];
                json.WriteStartObject(name);
                json.WriteString("dtype", tensor.DType.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (int dim in tensor.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.ByteLength;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static unsafe void WriteData(Stream stream, WeightTensor tensor)
    {
        byte* data = tensor.Data;
        for (long done = 0; done < tensor.ByteLength;)
        {
            int chunk = (int)Math.Min(ChunkBytes, tensor.ByteLength - done);
            stream.Write(new ReadOnlySpan<byte>(data + done, chunk));
            done += chunk;
        }
    }
}
