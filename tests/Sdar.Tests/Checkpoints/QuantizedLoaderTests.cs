using System.Text.Json.Nodes;
using Sdar.Checkpoints;
using Sdar.Model;
using Sdar.Runtime;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Checkpoints;

/// <summary>
/// A folder written by <c>sdar quantize</c> whose packed tensors, scales or quantization_config were damaged:
/// each is refused with an error naming the file, the tensor or field, and what was expected.
/// </summary>
public sealed class QuantizedLoaderTests : IDisposable
{
    private const string QWeight = "model.layers.0.self_attn.q_proj.qweight", Scales = "model.layers.0.self_attn.q_proj.scales";
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>tiny-qwen3 quantized to <paramref name="format"/>, then its stored tensors passed through <paramref name="edit"/>.</summary>
    private (string Folder, string Weights) Quantized(string format, Action<Dictionary<string, WeightTensor>>? edit = null)
    {
        string folder = _temp.File($"{format}-{Guid.NewGuid():N}");
        CheckpointQuantizer.QuantizeFolder(CliRunner.TinyQwen3, folder, CheckpointQuantizer.ParseFormat(format));
        string weights = Path.Combine(folder, "model.safetensors");
        if (edit is null) return (folder, weights);
        Dictionary<string, WeightTensor> tensors;
        using (var file = SafetensorsFile.Open(weights))
        {
            // Copies: the file is rewritten below, so nothing may point into its mapping.
            tensors = file.Tensors.ToDictionary(kv => kv.Key, kv => new WeightTensor(kv.Key, kv.Value.DType, kv.Value.Shape, TestFiles.BytesOf(kv.Value)));
        }
        edit(tensors);
        SafetensorsWriter.Write(weights, tensors, SafetensorsWriter.PyTorchMetadata);
        return (folder, weights);
    }

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config["quantization_config"]!.AsObject());
        File.WriteAllText(path, config.ToJsonString());
    }

    private static string Refusal(string folder) => Assert.ThrowsAny<SdarException>(() => LoadedModel.Open(folder)).Message;

    private static WeightTensor Zeros(string name, DType dtype, int[] shape) =>
        new(name, dtype, shape, new byte[shape.Aggregate(1L, (a, b) => a * b) * dtype.SizeInBytes()]);

    [Theory]
    [InlineData("q8")]
    [InlineData("q4")]
    public void An_intact_quantized_folder_loads(string format)
    {
        var (folder, _) = Quantized(format);
        using var model = LoadedModel.Open(folder);
        Assert.Equal(CheckpointQuantizer.ParseFormat(format), model.Weights.Layers[1].Mlp!.DownProj.DType);
    }

    [Theory]
    [InlineData("q8", 64, 32, "expected [64, 64] (q8_0 of a [64, 64] weight)")]
    [InlineData("q4", 64, 64, "expected [64, 32] (q4_0 of a [64, 64] weight)")]
    public void A_qweight_of_the_wrong_shape_names_the_file_the_tensor_and_the_expected_shape(string format, int rows, int columns, string expected)
    {
        var dtype = format == "q8" ? DType.I8 : DType.U8;
        var (folder, weights) = Quantized(format, t => t[QWeight] = Zeros(QWeight, dtype, [rows, columns]));
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Contains($"tensor '{QWeight}' has shape [{rows}, {columns}]", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q8", DType.U8, "has dtype U8, but quantization_config.format q8_0 stores I8")]
    [InlineData("q4", DType.I8, "has dtype I8, but quantization_config.format q4_0 stores U8")]
    public void A_qweight_of_the_wrong_dtype_names_the_dtype_the_config_expects(string format, DType wrong, string expected)
    {
        var (folder, weights) = Quantized(format, t => t[QWeight] = new WeightTensor(QWeight, wrong, t[QWeight].Shape, TestFiles.BytesOf(t[QWeight])));
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Contains($"tensor '{QWeight}' {expected}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scales_of_the_wrong_dtype_or_shape_are_refused_naming_the_expected_one()
    {
        var (folder, weights) = Quantized("q4", t => t[Scales] = Zeros(Scales, DType.F32, [64, 2]));
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Contains($"tensor '{Scales}' has dtype F32, expected F16", message, StringComparison.Ordinal);

        (folder, _) = Quantized("q8", t => t[Scales] = Zeros(Scales, DType.F16, [64, 1]));
        Assert.Contains($"tensor '{Scales}' has shape [64, 1], expected [64, 2] (one scale per 32 inputs of a [64, 64] weight)", Refusal(folder),
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_scales_tensor_is_named()
    {
        var (folder, weights) = Quantized("q8", t => t.Remove(Scales));
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Contains($"tensor '{QWeight}' has no scales: '{Scales}' is missing", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scales_without_their_packed_values_are_named()
    {
        var (folder, _) = Quantized("q4", t => t.Remove(QWeight));
        Assert.Contains($"tensor '{Scales}' has no packed values '{QWeight}'", Refusal(folder), StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_finite_scale_is_located()
    {
        var (folder, _) = Quantized("q8", t =>
        {
            byte[] bytes = TestFiles.BytesOf(t[Scales]);
            bytes[2 * 5] = 0x00;
            bytes[2 * 5 + 1] = 0x7C;   // scale 5: fp16 +infinity
            t[Scales] = new WeightTensor(Scales, DType.F16, t[Scales].Shape, bytes);
        });
        Assert.Contains($"tensor '{Scales}' is corrupt: scale 5 (row 2, group 1) is", Refusal(folder), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("group_size", 64, "field 'quantization_config.group_size' is 64; the kernels use groups of 32")]
    [InlineData("bits", 8, "field 'quantization_config.bits' is 8, but format q4_0 has 4")]
    public void A_quantization_config_that_does_not_match_names_the_field(string field, int value, string expected)
    {
        var (folder, _) = Quantized("q4");
        EditConfig(folder, q => q[field] = value);
        string message = Refusal(folder);
        Assert.Contains(Path.Combine(folder, "config.json"), message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_that_names_the_other_format_is_refused_at_the_first_packed_tensor()
    {
        var (folder, weights) = Quantized("q8");
        EditConfig(folder, q =>
        {
            q["format"] = "q4_0";
            q["bits"] = 4;
        });
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Contains("has dtype I8, but quantization_config.format q4_0 stores U8", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.5)]    // the data cut in the middle
    [InlineData(0.999)]  // only the last bytes missing
    public void A_truncated_safetensors_file_names_the_file_and_the_tensor_past_its_end(double kept)
    {
        var (folder, weights) = Quantized("q4");
        byte[] bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(int)(bytes.Length * kept)]);
        string message = Refusal(folder);
        Assert.Contains(weights, message, StringComparison.Ordinal);
        Assert.Matches(@"tensor '[^']+': data_offsets \[\d+, \d+\] lie outside the data region \(\d+ bytes after the header\): the file is truncated", message);
    }
}
