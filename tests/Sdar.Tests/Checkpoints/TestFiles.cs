using System.Buffers.Binary;
using System.Text;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

/// <summary>A fresh folder under the temp path, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sdar-test-" + Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class TestFiles
{
    public static string Fixture(string name) =>
        Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden", name);

    /// <summary>Writes a safetensors file byte by byte, so tests can build broken ones.</summary>
    public static void WriteRaw(string path, string headerJson, byte[] data, ulong? declaredHeaderLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A tensor whose element i is <paramref name="first"/> + i * 0.25 (exact in every dtype used).</summary>
    public static WeightTensor Ramp(string name, DType dtype, int[] shape, float first = 0)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var bytes = new byte[count * dtype.SizeInBytes()];
        for (int i = 0; i < count; i++)
        {
            float v = first + i * 0.25f;
            switch (dtype)
            {
                case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), v); break;
                case DType.F16: BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)v); break;
                case DType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)); break;
            }
        }
        return new WeightTensor(name, dtype, shape, bytes);
    }

    public static unsafe byte[] BytesOf(WeightTensor tensor) => new ReadOnlySpan<byte>(tensor.Data, (int)tensor.ByteLength).ToArray();

    public static string[] FilesIn(string dir) =>
        Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!).OrderBy(f => f, StringComparer.Ordinal).ToArray();
}
