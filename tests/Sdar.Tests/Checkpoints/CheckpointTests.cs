using System.Text.Json.Nodes;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, WeightTensor> TinyTensors(ModelConfig config) =>
        new(ModelLayout.NamedTensors(RandomModel.Create(config, DType.BF16, seed: 1)));

    /// <summary>Writes a folder the writer itself would refuse: any tensors with any config.</summary>
    private string WriteRaw(ModelConfig config, IReadOnlyDictionary<string, WeightTensor> tensors)
    {
        File.WriteAllText(_dir.File("config.json"), CheckpointWriter.ToConfigJson(config));
        SafetensorsWriter.Write(_dir.File("model.safetensors"), tensors);
        return _dir.File("model.safetensors");
    }

    private CheckpointException OpenFails() =>
        Assert.Throws<CheckpointException>(() => Checkpoint.Open(_dir.Path).Dispose());

    [Fact]
    public void A_missing_folder_is_named()
    {
        string missing = _dir.File("no-such-model");
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(missing));
        Assert.Contains(missing, error.Message);
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void A_folder_without_config_json_is_named()
    {
        var error = OpenFails();
        Assert.Contains(_dir.Path, error.Message);
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void A_folder_without_weights_names_the_expected_files()
    {
        File.WriteAllText(_dir.File("config.json"), CheckpointWriter.ToConfigJson(ModelShapes.Tiny()));
        var error = OpenFails();
        Assert.Contains(_dir.Path, error.Message);
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("model.safetensors.index.json", error.Message);
    }

    [Fact]
    public void A_config_field_of_the_wrong_type_names_config_json_and_the_field()
    {
        var config = ModelShapes.Tiny();
        WriteRaw(config, TinyTensors(config));
        var json = JsonNode.Parse(File.ReadAllText(_dir.File("config.json")))!.AsObject();
        json["num_hidden_layers"] = "2";
        File.WriteAllText(_dir.File("config.json"), json.ToJsonString());

        var error = OpenFails();
        Assert.Contains(_dir.File("config.json"), error.Message);
        Assert.Contains("'num_hidden_layers'", error.Message);
        Assert.Contains("an integer", error.Message);
    }

    [Fact]
    public void A_missing_tensor_is_named_with_the_weight_file()
    {
        var config = ModelShapes.Tiny();
        var tensors = TinyTensors(config);
        tensors.Remove("model.layers.1.self_attn.v_proj.weight");
        string file = WriteRaw(config, tensors);

        var error = OpenFails();
        Assert.Contains(file, error.Message);
        Assert.Contains("missing tensor 'model.layers.1.self_attn.v_proj.weight'", error.Message);
    }

    [Fact]
    public void An_unexpected_tensor_is_named_with_the_weight_file()
    {
        var config = ModelShapes.Tiny();
        var tensors = TinyTensors(config);
        tensors["model.layers.0.self_attn.q_proj.bias"] = TestFiles.Ramp("bias", DType.BF16, [64]);
        string file = WriteRaw(config, tensors);

        var error = OpenFails();
        Assert.Contains(file, error.Message);
        Assert.Contains("unexpected tensor 'model.layers.0.self_attn.q_proj.bias'", error.Message);
    }

    [Fact]
    public void A_wrongly_shaped_tensor_is_named_with_both_shapes()
    {
        var config = ModelShapes.Tiny();
        var tensors = TinyTensors(config);
        tensors["model.norm.weight"] = TestFiles.Ramp("model.norm.weight", DType.BF16, [63]);
        string file = WriteRaw(config, tensors);

        var error = OpenFails();
        Assert.Contains(file, error.Message);
        Assert.Contains("'model.norm.weight' has shape [63], expected [64]", error.Message);
    }

    [Fact]
    public void A_truncated_weight_file_is_named()
    {
        var config = ModelShapes.Tiny();
        string file = WriteRaw(config, TinyTensors(config));
        using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length - 100);

        var error = OpenFails();
        Assert.Contains(file, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.F32)]
    public void Saved_checkpoints_open_with_the_same_config_and_weights(DType dtype)
    {
        var config = ModelShapes.Tiny();
        var weights = RandomModel.Create(config, dtype, seed: 3);
        var generation = new GenerationConfig { EosTokenIds = [510, 509], PadTokenId = 510, Temperature = 0.7, TopK = 5 };

        CheckpointWriter.Save(_dir.Path, config, weights, generation);

        using var checkpoint = Checkpoint.Open(_dir.Path);
        Assert.Equal(["config.json", "generation_config.json", "model.safetensors"], TestFiles.FilesIn(_dir.Path));
        Assert.Equal(config.HiddenSize, checkpoint.Config.HiddenSize);
        Assert.Equal(config.MaskTokenId, checkpoint.Config.MaskTokenId);
        Assert.Equal(config.BlockSize, checkpoint.Config.BlockSize);
        Assert.Equal(dtype switch { DType.BF16 => "bfloat16", DType.F16 => "float16", _ => "float32" }, checkpoint.Config.TorchDtype);
        Assert.Equal([510, 509], checkpoint.GenerationConfig.EosTokenIds);
        Assert.Equal(0.7, checkpoint.GenerationConfig.Temperature);
        Assert.Equal(5, checkpoint.GenerationConfig.TopK);
        var saved = weights.AllTensors().ToList();
        var read = checkpoint.Weights.AllTensors().ToList();
        for (int i = 0; i < saved.Count; i++)
        {
            Assert.Equal(dtype, read[i].DType);
            Assert.Equal(saved[i].Shape, read[i].Shape);
            Assert.Equal(TestFiles.BytesOf(saved[i]), TestFiles.BytesOf(read[i]));
        }
    }

    [Fact]
    public void Config_json_is_written_hf_style()
    {
        var json = JsonNode.Parse(CheckpointWriter.ToConfigJson(ModelShapes.Get("sdar-1.7b"), DType.BF16))!.AsObject();

        Assert.Equal("SDARForCausalLM", json["architectures"]![0]!.GetValue<string>());
        Assert.Equal("sdar", json["model_type"]!.GetValue<string>());
        Assert.Equal(2048, json["hidden_size"]!.GetValue<int>());
        Assert.Equal(151669, json["mask_token_id"]!.GetValue<int>());
        Assert.True(json["tie_word_embeddings"]!.GetValue<bool>());
        Assert.Equal("bfloat16", json["torch_dtype"]!.GetValue<string>());
        Assert.False(json.ContainsKey("num_experts"));
        Assert.False(json.ContainsKey("eos_token_ids"));
        Assert.False(json.ContainsKey("is_diffusion"));
        Assert.Equal(json.Select(kv => kv.Key).OrderBy(k => k, StringComparer.Ordinal), json.Select(kv => kv.Key));

        var qwen = JsonNode.Parse(CheckpointWriter.ToConfigJson(ModelShapes.Tiny() with { ModelType = "qwen3" }))!.AsObject();
        Assert.Equal("Qwen3ForCausalLM", qwen["architectures"]![0]!.GetValue<string>());
        Assert.False(qwen.ContainsKey("block_size"));
        Assert.False(qwen.ContainsKey("mask_token_id"));

        var moe = JsonNode.Parse(CheckpointWriter.ToConfigJson(ModelShapes.Tiny(moe: true)))!.AsObject();
        Assert.Equal("SDARMoeForCausalLM", moe["architectures"]![0]!.GetValue<string>());
        Assert.Equal(4, moe["num_experts"]!.GetValue<int>());
    }

    [Fact]
    public void Tied_embeddings_are_saved_without_lm_head_and_bind_to_embed_tokens()
    {
        var config = ModelShapes.Tiny() with { TieWordEmbeddings = true };
        var weights = RandomModel.Create(config, DType.BF16, seed: 4);
        Assert.Same(weights.EmbedTokens, weights.LmHead);

        CheckpointWriter.Save(_dir.Path, weights);

        using (var file = SafetensorsFile.Open(_dir.File("model.safetensors")))
            Assert.DoesNotContain("lm_head.weight", file.Tensors.Keys);
        using var checkpoint = Checkpoint.Open(_dir.Path);
        Assert.True(checkpoint.Config.TieWordEmbeddings);
        Assert.Same(checkpoint.Weights.EmbedTokens, checkpoint.Weights.LmHead);
        Assert.Equal(TestFiles.BytesOf(weights.EmbedTokens), TestFiles.BytesOf(checkpoint.Weights.LmHead));
    }

    [Fact]
    public void Moe_checkpoints_round_trip()
    {
        var config = ModelShapes.Tiny(moe: true);
        var weights = RandomModel.Create(config, DType.BF16, seed: 5);

        CheckpointWriter.Save(_dir.Path, weights);

        using var checkpoint = Checkpoint.Open(_dir.Path);
        Assert.True(checkpoint.Config.IsMoe);
        var moe = checkpoint.Weights.Layers[1].Moe!;
        Assert.Equal([4, 64], moe.Router.Shape);
        Assert.Equal(4, moe.Experts.Count);
        Assert.Equal([32, 64], moe.Experts[3].GateProj.Shape);
        Assert.Equal(TestFiles.BytesOf(weights.Layers[1].Moe!.Experts[3].DownProj), TestFiles.BytesOf(moe.Experts[3].DownProj));
    }

    [Fact]
    public void Saving_tensors_that_do_not_fit_the_config_writes_nothing()
    {
        var config = ModelShapes.Tiny();
        var tensors = TinyTensors(config);
        tensors.Remove("model.norm.weight");

        var error = Assert.Throws<CheckpointException>(() => CheckpointWriter.Save(_dir.Path, config, tensors));

        Assert.Contains("'model.norm.weight'", error.Message);
        Assert.Empty(TestFiles.FilesIn(_dir.Path));
    }

    [Fact]
    public void Saving_over_a_checkpoint_leaves_only_the_new_files()
    {
        var config = ModelShapes.Tiny();
        CheckpointWriter.Save(_dir.Path, RandomModel.Create(config, DType.BF16, seed: 1));
        CheckpointWriter.Save(_dir.Path, RandomModel.Create(config, DType.BF16, seed: 2));

        Assert.Equal(["config.json", "model.safetensors"], TestFiles.FilesIn(_dir.Path));
        using var checkpoint = Checkpoint.Open(_dir.Path);
        Assert.Equal(TestFiles.BytesOf(RandomModel.Create(config, DType.BF16, seed: 2).Norm), TestFiles.BytesOf(checkpoint.Weights.Norm));
    }
}
