using Sdar.Checkpoints;
using Sdar.Config;

namespace Sdar.Tests.Checkpoints;

/// <summary>Sizes in config.json and values in generation_config.json are range-checked before anything is sized from them.</summary>
public class ConfigRangeTests
{
    private const string Origin = "/m/config.json";
    private static string TinyConfig => File.ReadAllText(TestFiles.Fixture("tiny-sdar/config.json"));

    private static string With(string field, string value) =>
        System.Text.RegularExpressions.Regex.Replace(TinyConfig, $"\"{field}\": [^,\\n]+", $"\"{field}\": {value}");

    private static CheckpointException Fails(string json)
    {
        var error = Assert.Throws<CheckpointException>(() => ConfigLoader.ParseModelConfig(json, Origin));
        Assert.Contains(Origin, error.Message);
        return error;
    }

    [Theory]
    [InlineData("num_hidden_layers")]
    [InlineData("block_size")]
    [InlineData("hidden_size")]
    [InlineData("intermediate_size")]
    [InlineData("vocab_size")]
    [InlineData("num_attention_heads")]
    [InlineData("num_key_value_heads")]
    [InlineData("head_dim")]
    [InlineData("max_position_embeddings")]
    public void A_size_of_2147483647_is_an_error_naming_the_field(string field)
    {
        var error = Fails(With(field, "2147483647"));
        Assert.Contains($"'{field}'", error.Message);
        Assert.Contains("2147483647", error.Message);
    }

    [Theory]
    [InlineData("num_hidden_layers", "-1")]
    [InlineData("hidden_size", "0")]
    [InlineData("vocab_size", "2147483648")]
    [InlineData("head_dim", "1e308")]
    [InlineData("rope_theta", "-5")]
    [InlineData("rms_norm_eps", "1e999")]
    [InlineData("mask_token_id", "512")]
    [InlineData("eos_token_id", "[510, 99999]")]
    public void An_out_of_range_or_unrepresentable_value_is_an_error_naming_the_field(string field, string value)
    {
        Assert.Contains($"'{field}'", Fails(With(field, value)).Message);
    }

    [Fact]
    public void Heads_times_head_dim_beyond_the_engine_width_is_an_error_naming_both_fields()
    {
        var error = Fails(With("num_attention_heads", "4096").Replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 4096", StringComparison.Ordinal)
            .Replace("\"head_dim\": 16", "\"head_dim\": 4096", StringComparison.Ordinal));
        Assert.Contains("'num_attention_heads' x 'head_dim'", error.Message);
        Assert.Contains("16777216", error.Message);
    }

    [Fact]
    public void A_parameter_count_beyond_any_machine_is_refused_before_the_weights_are_looked_at()
    {
        string json = With("num_hidden_layers", "4096").Replace("\"hidden_size\": 64", "\"hidden_size\": 131072", StringComparison.Ordinal)
            .Replace("\"intermediate_size\": 128", "\"intermediate_size\": 1048576", StringComparison.Ordinal);
        Assert.Contains("parameters", Fails(json).Message);
    }

    [Fact]
    public void Moe_fields_are_range_checked()
    {
        string moe = TinyConfig.Replace("\"model_type\": \"sdar\"", "\"model_type\": \"sdar_moe\", \"num_experts\": 2147483647, \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 32", StringComparison.Ordinal);
        Assert.Contains("'num_experts'", Fails(moe).Message);
        string layers = TinyConfig.Replace("\"model_type\": \"sdar\"", "\"model_type\": \"sdar_moe\", \"num_experts\": 4, \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 32, \"mlp_only_layers\": [7]", StringComparison.Ordinal);
        Assert.Contains("'mlp_only_layers'", Fails(layers).Message);
    }

    [Fact]
    public void The_fixture_config_passes()
    {
        Assert.Equal(1024, ConfigLoader.ParseModelConfig(TinyConfig, Origin).MaxPositionEmbeddings);
    }

    [Theory]
    [InlineData("{\"eos_token_id\": 512}", "'eos_token_id'")]
    [InlineData("{\"eos_token_id\": [510, -1]}", "'eos_token_id'")]
    [InlineData("{\"eos_token_id\": \"510\"}", "'eos_token_id'")]
    [InlineData("{\"temperature\": -0.5}", "'temperature'")]
    [InlineData("{\"top_p\": 1.5}", "'top_p'")]
    [InlineData("{\"top_p\": 0}", "'top_p'")]
    [InlineData("{\"top_k\": -1}", "'top_k'")]
    [InlineData("{\"do_sample\": \"yes\"}", "'do_sample'")]
    [InlineData("{\"max_new_tokens\": 0}", "'max_new_tokens'")]
    [InlineData("{\"max_length\": -3}", "'max_length'")]
    [InlineData("{\"pad_token_id\": 100000}", "'pad_token_id'")]
    [InlineData("{\"temperature\": 1e400}", "'temperature'")]
    public void A_bad_generation_config_value_is_an_error_naming_the_file_and_field_not_a_flag(string json, string field)
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        string path = Path.Combine(dir, "generation_config.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains(path, error.Message);
        Assert.Contains(field, error.Message);
        Assert.DoesNotContain("--", error.Message);
    }

    [Fact]
    public void Good_generation_config_values_load()
    {
        var generation = ConfigLoader.ParseGenerationConfig(
            "{\"eos_token_id\": [1, 2], \"temperature\": 0, \"top_p\": 1, \"top_k\": 0, \"do_sample\": false, \"max_new_tokens\": 5, \"transformers_version\": \"4.51\"}", "/g.json");
        ConfigLoader.Validate(generation, vocabSize: 512, "/g.json");
        Assert.Equal([1, 2], generation.EosTokenIds);
        Assert.False(generation.DoSample);
    }
}
