using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Tests.Checkpoints;

namespace Sdar.Tests.Model;

/// <summary>NaN or Inf logits stop generation with an error naming the layer where they first appear.</summary>
public class NumericalFaultTests
{
    private static readonly ModelConfig FourLayers = TinyModels.Config() with { NumHiddenLayers = 4 };

    /// <summary>The tiny model with the tensors whose names start with <paramref name="prefix"/> filled with <paramref name="value"/>.</summary>
    private static ModelWeights Poisoned(ModelConfig config, string prefix, float value)
    {
        var named = ModelLayout.NamedTensors(TinyModels.Create(config, DType.F32)).ToDictionary(
            kv => kv.Key,
            kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)
                ? new WeightTensor(kv.Key, DType.F32, kv.Value.Shape.ToArray(),
                    Enumerable.Repeat(value, (int)kv.Value.ElementCount).SelectMany(BitConverter.GetBytes).ToArray())
                : kv.Value);
        return ModelWeights.Bind(config, named, "poisoned");
    }

    private static NumericalFaultException GenerationFails(ModelWeights weights, bool reference = false)
    {
        ILanguageModel model = reference ? new ReferenceModel(weights) : new FastModel(weights);
        var generator = Generator.For(model);
        return Assert.Throws<NumericalFaultException>(() =>
            generator.Generate([1, 2, 3, 4, 5, 6], new GenerationOptions { MaxNewTokens = 8, Temperature = 0 }));
    }

    [Fact]
    public void Nan_weights_in_layer_2_are_reported_at_layer_2()
    {
        var error = GenerationFails(Poisoned(FourLayers, "model.layers.2.mlp.", float.NaN));
        Assert.StartsWith("model.layers.2 (mlp output): non-finite activations (NaN) at position 4;", error.Message);
        Assert.Equal("model.layers.2", error.Fault!.Module);
    }

    [Fact]
    public void Nan_attention_weights_are_reported_at_the_attention_of_their_layer()
    {
        var error = GenerationFails(Poisoned(FourLayers, "model.layers.2.self_attn.q_proj", float.NaN));
        Assert.StartsWith("model.layers.2 (self_attn output)", error.Message);
    }

    [Fact]
    public void All_inf_embeddings_are_reported_at_the_embedding()
    {
        var error = GenerationFails(Poisoned(FourLayers, "model.embed_tokens", float.PositiveInfinity));
        Assert.Contains("model.embed_tokens (embedding output): non-finite activations (+Inf) at position", error.Message);
    }

    [Fact]
    public void A_nan_lm_head_is_reported_at_the_logits()
    {
        var error = GenerationFails(Poisoned(FourLayers, "lm_head", float.NaN));
        Assert.StartsWith("lm_head (logits): non-finite activations (NaN)", error.Message);
    }

    [Fact]
    public void An_autoregressive_model_reports_the_layer_too()
    {
        var ar = FourLayers with { ModelType = "qwen3", BlockSize = 0, MaskTokenId = null };
        var error = GenerationFails(Poisoned(ar, "model.layers.1.mlp.down_proj", float.NaN));
        Assert.StartsWith("model.layers.1 (mlp output)", error.Message);
    }

    [Fact]
    public void An_engine_without_diagnostics_still_stops_with_a_numerical_fault()
    {
        var error = GenerationFails(Poisoned(FourLayers, "model.layers.2.mlp.", float.NaN), reference: true);
        Assert.Contains("non-finite activations (NaN)", error.Message);
    }

    [Fact]
    public void A_healthy_model_has_no_fault_on_the_diagnostic_path()
    {
        var model = new FastModel(TinyModels.Create(FourLayers));
        var input = new SequenceInput([1, 2, 3, 4], new ContiguousKvCache(FourLayers), StoreKv: false)
        { Attention = AttentionKind.BlockCausal, BlockLength = 4 };
        Assert.Null(model.LocateNonFinite(input));
    }

    [Fact]
    public void The_logit_check_finds_nan_and_both_infinities_at_any_offset()
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            for (int at = 0; at < 40; at++)
            {
                var values = Enumerable.Range(0, 40).Select(i => (float)i).ToArray();
                values[at] = bad;
                Assert.Equal(at, NonFinite.IndexOf(values));
            }
        Assert.Equal(-1, NonFinite.IndexOf([float.MaxValue, float.MinValue, 0f, -0f, float.Epsilon]));
    }

    [Fact]
    public void A_checkpoint_of_nan_weights_fails_at_generation_with_the_project_error()
    {
        using var temp = new TempDir();
        CheckpointWriter.Save(temp.Path, Poisoned(FourLayers, "model.layers.2.", float.NaN));
        using var checkpoint = Checkpoint.Open(temp.Path);
        var error = GenerationFails(checkpoint.Weights);
        Assert.IsAssignableFrom<SdarException>(error);
        Assert.StartsWith("model.layers.2 (", error.Message);
    }
}
