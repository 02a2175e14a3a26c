using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

public class RandomModelTests
{
    [Fact]
    public void Random_weights_bind_to_every_key_of_the_config()
    {
        var weights = RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 1);

        Assert.Equal(2, weights.Layers.Count);
        Assert.All(weights.AllTensors(), t => Assert.Equal(DType.BF16, t.DType));
        Assert.Equal(ModelLayout.Tensors(ModelShapes.Tiny()).Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)), weights.ParameterCount());
    }

    [Fact]
    public void Matrices_have_std_near_0_02_and_norms_sit_near_one()
    {
        var weights = RandomModel.Create(ModelShapes.Tiny(), DType.F32, seed: 2);

        var embed = weights.EmbedTokens.ToFloatArray();
        double mean = embed.Average(), std = Math.Sqrt(embed.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.001, 0.001);
        Assert.InRange(std, 0.019, 0.021);
        var norm = weights.Layers[0].InputLayernorm.ToFloatArray();
        Assert.InRange(norm.Average(), 0.95, 1.05);
        Assert.All(norm, v => Assert.InRange(v, 0.6f, 1.4f));
        Assert.True(norm.Distinct().Count() > 10, "norm weights vary");
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_differs()
    {
        var a = RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 3);
        var b = RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 3);
        var c = RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 4);

        Assert.Equal(TestFiles.BytesOf(a.Layers[1].QProj), TestFiles.BytesOf(b.Layers[1].QProj));
        Assert.NotEqual(TestFiles.BytesOf(a.Layers[1].QProj), TestFiles.BytesOf(c.Layers[1].QProj));
        Assert.NotEqual(TestFiles.BytesOf(a.Layers[1].QProj), TestFiles.BytesOf(a.Layers[1].OProj));
    }

    [Fact]
    public void Bf16_values_are_the_rounded_f32_values()
    {
        var f32 = RandomModel.Create(ModelShapes.Tiny(), DType.F32, seed: 5);
        var bf16 = RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 5);

        for (int i = 0; i < 1000; i++)
        {
            float exact = f32.Layers[0].VProj.GetFloat(i);
            Assert.Equal(RandomModel.ToBFloat16(exact), (ushort)(BitConverter.SingleToUInt32Bits(bf16.Layers[0].VProj.GetFloat(i)) >> 16));
            Assert.InRange(Math.Abs(bf16.Layers[0].VProj.GetFloat(i) - exact), 0, Math.Abs(exact) / 128);
        }
    }

    [Fact]
    public void Moe_models_get_routers_and_experts()
    {
        var weights = RandomModel.Create(ModelShapes.Tiny(moe: true), DType.BF16, seed: 6);

        Assert.All(weights.Layers, l =>
        {
            Assert.Null(l.Mlp);
            Assert.Equal(4, l.Moe!.Experts.Count);
        });
    }

    [Theory]
    [InlineData(DType.Q8_0)]
    [InlineData(DType.Q4_0)]
    public void A_quantized_random_model_is_the_bf16_model_of_the_same_seed_quantized(DType format)
    {
        var quantized = RandomModel.Create(ModelShapes.Tiny(), format, seed: 8);
        var expected = WeightQuantizer.Quantize(RandomModel.Create(ModelShapes.Tiny(), DType.BF16, seed: 8), format);

        Assert.Equal(format, quantized.Config.QuantizationConfig!.WeightFormat);
        Assert.Equal(DType.BF16, quantized.EmbedTokens.DType);
        Assert.All(new[] { quantized.Layers[1].QProj, quantized.Layers[0].Mlp!.DownProj, quantized.LmHead }, t => Assert.Equal(format, t.DType));
        Assert.Equal(expected.Layers[1].Mlp!.UpProj.ToFloatArray(), quantized.Layers[1].Mlp!.UpProj.ToFloatArray());
        Assert.Equal(expected.LmHead.ToFloatArray(), quantized.LmHead.ToFloatArray());
    }

    [Fact]
    public void Tied_models_share_one_tensor_for_embedding_and_head()
    {
        var weights = RandomModel.Create(ModelShapes.Tiny() with { TieWordEmbeddings = true }, DType.BF16, seed: 7);
        Assert.Same(weights.EmbedTokens, weights.LmHead);
    }
}

public class ModelShapesTests
{
    [Theory]
    [InlineData("sdar-1.7b", 2048, 28, 16, 8, 6144, true, 1_720_574_976L)]
    [InlineData("sdar-4b", 2560, 36, 32, 8, 9728, true, 4_022_468_096L)]
    [InlineData("sdar-8b", 4096, 36, 32, 8, 12288, false, 8_190_735_360L)]
    public void Released_shapes_match_the_published_configs(string name, int hidden, int layers, int heads, int kvHeads,
        int intermediate, bool tied, long parameters)
    {
        var c = ModelShapes.Get(name);

        Assert.Equal((hidden, layers, heads, kvHeads, intermediate, tied), (c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.IntermediateSize, c.TieWordEmbeddings));
        Assert.Equal((128, 151936, 1e6, 4, 151669), (c.HeadDim, c.VocabSize, c.RopeTheta, c.BlockSize, c.MaskTokenId));
        Assert.Equal("sdar", c.ModelType);
        ConfigLoader.Validate(c, name);
        // Qwen3-1.7B / 4B / 8B parameter counts (tied embeddings counted once).
        Assert.Equal(parameters, ModelLayout.Tensors(c).Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void Unknown_names_list_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelShapes.Get("sdar-70b"));
        Assert.Contains("sdar-1.7b", error.Message);
    }

    [Fact]
    public void Tiny_configs_are_valid()
    {
        ConfigLoader.Validate(ModelShapes.Tiny(), "tiny");
        ConfigLoader.Validate(ModelShapes.Tiny(moe: true), "tiny moe");
        Assert.True(ModelShapes.Tiny(moe: true).IsMoe);
        Assert.Equal(2, ModelShapes.Tiny(moe: true).NumExpertsPerTok);
    }
}
