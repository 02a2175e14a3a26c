using System.Text.Json.Nodes;
using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Tests.Checkpoints;

public sealed class ShardedCheckpointTests : IDisposable
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Splits a random tiny model over two shards (layer 0 and the embedding in the first) and writes the index.</summary>
    private ModelWeights WriteSharded(Action<Dictionary<string, string>>? editIndex = null)
    {
        var config = ModelShapes.Tiny();
        var weights = RandomModel.Create(config, DType.BF16, seed: 7);
        var named = ModelLayout.NamedTensors(weights);
        var weightMap = named.Keys.ToDictionary(k => k, k => k.StartsWith("model.layers.1.", StringComparison.Ordinal) || k.StartsWith("lm_head", StringComparison.Ordinal) || k == "model.norm.weight" ? Shard2 : Shard1);
        foreach (var shard in new[] { Shard1, Shard2 })
            SafetensorsWriter.Write(_dir.File(shard), named.Where(kv => weightMap[kv.Key] == shard).ToDictionary(), SafetensorsWriter.PyTorchMetadata);
        editIndex?.Invoke(weightMap);
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = named.Values.Sum(t => t.ByteLength) },
            ["weight_map"] = new JsonObject(weightMap.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        File.WriteAllText(_dir.File("model.safetensors.index.json"), index.ToJsonString());
        File.WriteAllText(_dir.File("config.json"), CheckpointWriter.ToConfigJson(config));
        return weights;
    }

    [Fact]
    public void Shards_listed_in_the_index_open_as_one_model()
    {
        var weights = WriteSharded();

        using var checkpoint = Checkpoint.Open(_dir.Path);

        Assert.Equal([_dir.File(Shard1), _dir.File(Shard2)], checkpoint.WeightPaths.Order(StringComparer.Ordinal));
        var expected = weights.AllTensors().ToList();
        var read = checkpoint.Weights.AllTensors().ToList();
        for (int i = 0; i < expected.Count; i++) Assert.Equal(TestFiles.BytesOf(expected[i]), TestFiles.BytesOf(read[i]));
    }

    [Fact]
    public void The_index_takes_precedence_and_names_the_shard_of_each_tensor()
    {
        WriteSharded();

        using var files = WeightFiles.OpenDirectory(_dir.Path);

        Assert.Equal(_dir.File("model.safetensors.index.json"), files.Origin);
        Assert.Equal(_dir.File(Shard1), files.FileOf("model.embed_tokens.weight"));
        Assert.Equal(_dir.File(Shard2), files.FileOf("model.layers.1.mlp.up_proj.weight"));
        Assert.Equal(2, files.Files.Count);
    }

    [Fact]
    public void A_missing_shard_is_named_with_the_index()
    {
        WriteSharded();
        File.Delete(_dir.File(Shard2));

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_dir.Path));

        Assert.Contains(_dir.File("model.safetensors.index.json"), error.Message);
        Assert.Contains($"shard '{Shard2}'", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void A_tensor_missing_from_its_shard_names_the_shard_and_the_tensor()
    {
        // The index claims the final norm is in shard 1; it is in shard 2.
        WriteSharded(map => map["model.norm.weight"] = Shard1);

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_dir.Path));

        Assert.Contains(_dir.File(Shard1), error.Message);
        Assert.Contains("'model.norm.weight'", error.Message);
    }

    [Fact]
    public void A_tensor_the_index_does_not_list_is_an_error()
    {
        WriteSharded(map => map.Remove("model.layers.0.mlp.up_proj.weight"));

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_dir.Path));

        Assert.Contains(_dir.File(Shard1), error.Message);
        Assert.Contains("'model.layers.0.mlp.up_proj.weight'", error.Message);
        Assert.Contains("does not list", error.Message);
    }

    [Fact]
    public void A_wrong_shape_in_a_shard_names_that_shard()
    {
        WriteSharded();
        var config = ModelShapes.Tiny() with { IntermediateSize = 96 };
        File.WriteAllText(_dir.File("config.json"), CheckpointWriter.ToConfigJson(config));

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_dir.Path));

        Assert.Contains(_dir.File(Shard1), error.Message);
        Assert.Contains("'model.layers.0.mlp.gate_proj.weight' has shape [128, 64], expected [96, 64]", error.Message);
    }
}
