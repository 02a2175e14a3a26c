using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.F32)]
    public void Written_tensors_read_back_bit_for_bit(DType dtype)
    {
        string path = _dir.File("t.safetensors");
        var tensors = new Dictionary<string, WeightTensor>
        {
            ["b.weight"] = TestFiles.Ramp("b.weight", dtype, [3, 5], first: -2),
            ["a.weight"] = TestFiles.Ramp("a.weight", dtype, [7], first: 1),
        };

        SafetensorsWriter.Write(path, tensors, SafetensorsWriter.PyTorchMetadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var (name, tensor) in tensors)
        {
            var read = file.Tensors[name];
            Assert.Equal(dtype, read.DType);
            Assert.Equal(tensor.Shape, read.Shape);
            Assert.Equal(TestFiles.BytesOf(tensor), TestFiles.BytesOf(read));
        }
        Assert.Equal(-2f + 14 * 0.25f, file.Tensors["b.weight"].GetFloat(14));
    }

    [Fact]
    public void The_header_is_space_padded_to_8_bytes_with_sorted_keys()
    {
        string path = _dir.File("t.safetensors");
        var tensors = new Dictionary<string, WeightTensor>
        {
            ["z"] = TestFiles.Ramp("z", DType.F32, [1]),
            ["m"] = TestFiles.Ramp("m", DType.BF16, [3]),
            ["a"] = TestFiles.Ramp("a", DType.F16, [1]),
        };

        SafetensorsWriter.Write(path, tensors);

        byte[] bytes = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0ul, headerLength % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Matches("^\\{.*\\} *$", header);
        using var json = JsonDocument.Parse(header);
        Assert.Equal(["a", "m", "z"], json.RootElement.EnumerateObject().Select(p => p.Name));
        // Data follows in key order, without gaps: a (2 bytes), m (6), z (4).
        Assert.Equal("[2,8]", json.RootElement.GetProperty("m").GetProperty("data_offsets").GetRawText());
        Assert.Equal(8 + (long)headerLength + 12, bytes.LongLength);
    }

    [Fact]
    public void Writing_leaves_no_temporary_file_behind()
    {
        string path = _dir.File("t.safetensors");
        var tensors = new Dictionary<string, WeightTensor> { ["a"] = TestFiles.Ramp("a", DType.F32, [4]) };

        SafetensorsWriter.Write(path, tensors);
        SafetensorsWriter.Write(path, tensors);

        Assert.Equal(["t.safetensors"], TestFiles.FilesIn(_dir.Path));
    }

    [Fact]
    public void A_failed_write_keeps_the_old_file_and_removes_the_temporary_one()
    {
        string path = _dir.File("t.safetensors");
        File.WriteAllText(path, "old");

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("partial"u8);
            throw new IOException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["t.safetensors"], TestFiles.FilesIn(_dir.Path));
    }

    [Fact]
    public void Overwriting_a_mapped_file_leaves_the_open_mapping_intact()
    {
        string path = _dir.File("t.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, WeightTensor> { ["a"] = TestFiles.Ramp("a", DType.F32, [4], first: 1) });
        using var old = SafetensorsFile.Open(path);

        SafetensorsWriter.Write(path, new Dictionary<string, WeightTensor> { ["a"] = TestFiles.Ramp("a", DType.F32, [4], first: 9) });

        Assert.Equal(1f, old.Tensors["a"].GetFloat(0));
        using var updated = SafetensorsFile.Open(path);
        Assert.Equal(9f, updated.Tensors["a"].GetFloat(0));
    }
}
