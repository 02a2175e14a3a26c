using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

/// <summary>The two real HF-format BF16 checkpoints in tests/fixtures/sdar-golden.</summary>
public class FixtureCheckpointTests
{
    [Fact]
    public void Tiny_sdar_opens_with_its_config_and_generation_config()
    {
        using var checkpoint = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));

        var c = checkpoint.Config;
        Assert.Equal("sdar", c.ModelType);
        Assert.True(c.IsDiffusion);
        Assert.False(c.IsMoe);
        Assert.Equal((64, 128, 2, 4, 2, 16, 512), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize));
        Assert.Equal(10000.0, c.RopeTheta);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(1024, c.MaxPositionEmbeddings);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal("bfloat16", c.TorchDtype);
        Assert.Equal(4, c.BlockSize);
        Assert.Equal(511, c.MaskTokenId);
        Assert.Equal(510, c.EosTokenId);
        Assert.Equal(510, c.PadTokenId);
        Assert.Null(c.BosTokenId);
        Assert.Equal([510], checkpoint.GenerationConfig.EosTokenIds);
        Assert.Equal(510, checkpoint.GenerationConfig.PadTokenId);
        Assert.Equal(Path.Combine(checkpoint.Directory, "tokenizer.json"), checkpoint.TokenizerPath);
        Assert.True(File.Exists(checkpoint.TokenizerPath));
    }

    [Fact]
    public void Tiny_sdar_weights_decode_from_bf16()
    {
        using var checkpoint = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));
        var w = checkpoint.Weights;

        Assert.All(w.AllTensors(), t => Assert.Equal(DType.BF16, t.DType));
        Assert.Equal([512, 64], w.EmbedTokens.Shape);
        Assert.NotSame(w.EmbedTokens, w.LmHead);
        // Reference values read with Python's struct module from the file.
        Assert.Equal([-0.08935546875f, -0.396484375f, 0.130859375f, -0.70703125f], Enumerable.Range(0, 4).Select(i => w.EmbedTokens.GetFloat(i)));
        Assert.Equal([0.5234375f, 0.54296875f], Enumerable.Range(511 * 64 + 62, 2).Select(i => w.EmbedTokens.GetFloat(i)));
        Assert.Equal(1.109375f, w.LmHead.GetFloat(0));
        Assert.Equal(-1.453125f, w.LmHead.GetFloat(1));
        Assert.Equal(1.171875f, w.Norm.GetFloat(0));
        Assert.Equal(0.8515625f, w.Layers[1].KNorm.GetFloat(0));
        Assert.Equal([64, 128], w.Layers[0].Mlp!.DownProj.Shape);
        Assert.Equal(-0.2431640625f, w.Layers[0].Mlp!.DownProj.GetFloat(0));
        Assert.Null(w.Layers[0].Moe);
        Assert.Equal([32, 64], w.Layers[1].KProj.Shape);
    }

    [Fact]
    public void Tiny_qwen3_opens_as_an_autoregressive_model_with_the_same_weights()
    {
        using var qwen = Checkpoint.Open(TestFiles.Fixture("tiny-qwen3"));
        using var sdar = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));

        Assert.Equal("qwen3", qwen.Config.ModelType);
        Assert.False(qwen.Config.IsDiffusion);
        Assert.Null(qwen.Config.MaskTokenId);
        Assert.Equal(0, qwen.Config.BlockSize);
        Assert.Equal([510], qwen.GenerationConfig.EosTokenIds);
        Assert.Equal(sdar.Weights.ParameterCount(), qwen.Weights.ParameterCount());
        Assert.Equal(TestFiles.BytesOf(sdar.Weights.Layers[1].QProj), TestFiles.BytesOf(qwen.Weights.Layers[1].QProj));
    }

    [Fact]
    public void The_fixture_reads_back_identically_after_saving()
    {
        using var dir = new TempDir();
        using var original = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));

        CheckpointWriter.Save(dir.Path, original.Weights, original.GenerationConfig);

        using var copy = Checkpoint.Open(dir.Path);
        // Lists compare by reference in records; compare them separately.
        int[] none = [];
        Assert.Equal(original.Config with { EosTokenIds = none, MlpOnlyLayers = none }, copy.Config with { EosTokenIds = none, MlpOnlyLayers = none });
        Assert.Equal(original.Config.EosTokenIds, copy.Config.EosTokenIds);
        Assert.Equal(original.GenerationConfig.EosTokenIds, copy.GenerationConfig.EosTokenIds);
        Assert.Equal(original.GenerationConfig.PadTokenId, copy.GenerationConfig.PadTokenId);
        // Same keys, same layout rules: the file is byte-identical apart from header formatting.
        var a = original.Weights.AllTensors().ToList();
        var b = copy.Weights.AllTensors().ToList();
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++) Assert.Equal(TestFiles.BytesOf(a[i]), TestFiles.BytesOf(b[i]));
    }
}
