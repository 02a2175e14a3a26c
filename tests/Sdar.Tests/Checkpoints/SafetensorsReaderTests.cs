using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

public sealed class SafetensorsReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointException OpenFails(string header, byte[] data, ulong? declaredLength = null)
    {
        string path = _dir.File("broken.safetensors");
        TestFiles.WriteRaw(path, header, data, declaredLength);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, error.Message);
        return error;
    }

    [Fact]
    public void Reads_dtype_shape_metadata_and_values_from_the_mapping()
    {
        string path = _dir.File("a.safetensors");
        // Two F32 values 1.5 and -2, then a BF16 1.0 (0x3F80).
        byte[] data = [0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0, 0x80, 0x3F];
        TestFiles.WriteRaw(path,
            """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[8,10]}}""",
            data);

        using var file = SafetensorsFile.Open(path);

        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(DType.F32, file.Tensors["a"].DType);
        Assert.Equal([2], file.Tensors["a"].Shape);
        Assert.Equal([1.5f, -2f], file.Tensors["a"].ToFloatArray());
        Assert.Equal(DType.BF16, file.Tensors["b"].DType);
        Assert.Equal([1, 1], file.Tensors["b"].Shape);
        Assert.Equal(1f, file.Tensors["b"].GetFloat(0));
    }

    [Fact]
    public void Scalars_and_empty_tensors_are_allowed()
    {
        string path = _dir.File("a.safetensors");
        TestFiles.WriteRaw(path,
            """{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]}}""",
            [0, 0, 0x80, 0x3F]);

        using var file = SafetensorsFile.Open(path);

        Assert.Equal(1f, file.Tensors["s"].GetFloat(0));
        Assert.Equal(0, file.Tensors["e"].ElementCount);
    }

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_truncated()
    {
        string path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_an_error()
    {
        var error = OpenFails("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4], declaredLength: 1_000_000);
        Assert.Contains("header length 1000000", error.Message);
        Assert.Contains("beyond the end of the file", error.Message);
    }

    [Fact]
    public void A_header_that_is_not_json_is_an_error()
    {
        var error = OpenFails("""{"a":{"dtype":"F32",""", []);
        Assert.Contains("not valid JSON", error.Message);
    }

    [Fact]
    public void Data_offsets_past_the_end_of_a_truncated_file_name_the_tensor()
    {
        // The header promises 16 bytes for 'w' but the file stops after 6.
        var error = OpenFails("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""", new byte[6]);
        Assert.Contains("'w'", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Data_offsets_that_disagree_with_the_shape_name_the_tensor()
    {
        var error = OpenFails("""{"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}}""", new byte[8]);
        Assert.Contains("'w'", error.Message);
        Assert.Contains("needs 6", error.Message);
    }

    [Fact]
    public void Reversed_data_offsets_are_an_error()
    {
        var error = OpenFails("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", new byte[8]);
        Assert.Contains("'w'", error.Message);
        Assert.Contains("data_offsets", error.Message);
    }

    [Theory]
    [InlineData("I64")]
    [InlineData("F8_E4M3")]
    public void Unsupported_dtypes_are_named_with_the_supported_ones(string dtype)
    {
        var error = OpenFails($$$"""{"w":{"dtype":"{{{dtype}}}","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        Assert.Contains("'w'", error.Message);
        Assert.Contains($"'{dtype}'", error.Message);
        Assert.Contains("BF16, F16, F32", error.Message);
    }

    [Fact]
    public void Negative_dimensions_are_an_error()
    {
        var error = OpenFails("""{"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,0]}}""", []);
        Assert.Contains("'w'", error.Message);
        Assert.Contains("negative dimension -1", error.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_an_error()
    {
        var error = OpenFails(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
            new byte[12]);
        Assert.Contains("'a' and 'b' overlap", error.Message);
    }

    [Fact]
    public void A_missing_file_is_an_error_naming_it()
    {
        string path = _dir.File("nothing.safetensors");
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, error.Message);
    }
}
