using System.Text.Json.Nodes;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Runtime;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Model;

/// <summary><c>sdar quantize</c> writes a folder the loader reads back and checks.</summary>
public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), $"sdar-quantize-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    [Theory]
    [InlineData("q8", DType.Q8_0, 0.02)]
    [InlineData("q4", DType.Q4_0, 0.3)]
    public void A_quantized_bundled_model_loads_and_predicts_close_to_bf16(string format, DType dtype, double maxKl)
    {
        var (code, _, error) = CliRunner.Run("quantize", "--model", BundledModels.Locate("sdar-mini-ar"), "--out", _out, "--format", format);
        Assert.True(code == 0, error);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_out, "config.json")))!;
        Assert.Equal(32, config["quantization_config"]!["group_size"]!.GetValue<int>());

        using var original = LoadedModel.Open(BundledModels.Locate("sdar-mini-ar"));
        using var quantized = LoadedModel.Open(_out);
        Assert.Equal(dtype, quantized.Weights.Layers[0].QProj.DType);
        int[] prompt = original.EncodePrompt("What is 345 + 278?", chat: true);
        var options = new GenerationOptions { MaxNewTokens = 1, Temperature = 0, Logprobs = 20 };
        var a = original.Generator.Generate(prompt, options).Logprobs![0].Top;
        var b = quantized.Generator.Generate(prompt, options).Logprobs![0].Top;
        // KL over the 20 most likely tokens of the BF16 model: the next-token distributions agree.
        var q = b.ToDictionary(t => t.TokenId, t => (double)t.Logprob);
        double kl = a.Sum(t => Math.Exp(t.Logprob) * (t.Logprob - q.GetValueOrDefault(t.TokenId, -30)));
        Assert.True(kl < maxKl, $"KL {kl}");
    }

    [Theory]
    [InlineData("q8", "Q8_0 weights multiply float activations")]
    [InlineData("q4", "Q4_0 weights multiply int8 activations")]
    public void Info_says_what_the_quantized_products_multiply(string format, string expected)
    {
        var (code, _, error) = CliRunner.Run("quantize", "--model", CliRunner.TinySdar, "--out", _out, "--format", format);
        Assert.True(code == 0, error);
        var (infoCode, output, infoError) = CliRunner.Run("info", "--model", _out);
        Assert.True(infoCode == 0, infoError);
        if (format == "q4" && !System.Runtime.Intrinsics.X86.Avx2.IsSupported) expected = "Q4_0 weights multiply float activations";
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Packed_weights_without_their_quantization_config_are_refused_naming_the_file()
    {
        var (code, _, error) = CliRunner.Run("quantize", "--model", BundledModels.Locate("sdar-mini-ar"), "--out", _out, "--format", "q8");
        Assert.True(code == 0, error);
        string configPath = Path.Combine(_out, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config.Remove("quantization_config");
        File.WriteAllText(configPath, config.ToJsonString());
        var failure = Assert.ThrowsAny<SdarException>(() => LoadedModel.Open(_out));
        Assert.Contains("quantization_config", failure.Message, StringComparison.Ordinal);
    }
}
