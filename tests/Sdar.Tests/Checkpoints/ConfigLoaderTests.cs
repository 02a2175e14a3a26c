using Sdar.Checkpoints;
using Sdar.Config;

namespace Sdar.Tests.Checkpoints;

public class ConfigLoaderTests
{
    private const string Origin = "/models/x/config.json";

    private static string SdarJson(string extra = "", string? replace = null, string? with = null)
    {
        string json = """
            {
              "architectures": ["SDARForCausalLM"],
              "model_type": "sdar",
              "hidden_size": 64,
              "intermediate_size": 128,
              "num_hidden_layers": 2,
              "num_attention_heads": 4,
              "num_key_value_heads": 2,
              "head_dim": 16,
              "vocab_size": 512,
              "rope_theta": 10000.0,
              "rms_norm_eps": 1e-06,
              "tie_word_embeddings": false,
              "rope_scaling": null,
              "block_size": 4,
              "mask_token_id": 511,
              "eos_token_id": 510
            """ + extra + "}";
        return replace is null ? json : json.Replace(replace, with, StringComparison.Ordinal);
    }

    private static CheckpointException Fails(string json)
    {
        var error = Assert.Throws<CheckpointException>(() => ConfigLoader.ParseModelConfig(json, Origin));
        Assert.Contains(Origin, error.Message);
        return error;
    }

    [Fact]
    public void Binds_snake_case_fields_and_ignores_unknown_keys()
    {
        var config = ConfigLoader.ParseModelConfig(SdarJson(""", "some_future_key": {"a": [1, 2]}"""), Origin);

        Assert.Equal("sdar", config.ModelType);
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(2, config.NumKeyValueHeads);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.Equal(4, config.BlockSize);
        Assert.Equal(511, config.MaskTokenId);
        Assert.Equal(510, config.EosTokenId);
        Assert.Equal([510], config.EosTokenIds);
        Assert.True(config.IsDiffusion);
    }

    [Fact]
    public void An_eos_list_fills_both_eos_fields()
    {
        var config = ConfigLoader.ParseModelConfig(SdarJson(replace: "\"eos_token_id\": 510", with: "\"eos_token_id\": [509, 510]"), Origin);

        Assert.Equal(509, config.EosTokenId);
        Assert.Equal([509, 510], config.EosTokenIds);
    }

    [Fact]
    public void A_field_of_the_wrong_type_names_the_field_and_the_expected_type()
    {
        var error = Fails(SdarJson(replace: "\"hidden_size\": 64", with: "\"hidden_size\": \"64\""));
        Assert.Contains("'hidden_size'", error.Message);
        Assert.Contains("an integer", error.Message);
        Assert.Contains("\"64\"", error.Message);
    }

    [Fact]
    public void A_boolean_given_as_a_string_is_an_error()
    {
        var error = Fails(SdarJson(replace: "\"tie_word_embeddings\": false", with: "\"tie_word_embeddings\": \"no\""));
        Assert.Contains("'tie_word_embeddings'", error.Message);
        Assert.Contains("boolean", error.Message);
    }

    [Fact]
    public void A_list_with_a_wrong_element_names_the_list()
    {
        var error = Fails(SdarJson(""", "mlp_only_layers": [0, "one"]"""));
        Assert.Contains("'mlp_only_layers'", error.Message);
        Assert.Contains("a list of integers", error.Message);
    }

    [Fact]
    public void An_eos_id_that_is_not_an_integer_is_an_error()
    {
        var error = Fails(SdarJson(replace: "\"eos_token_id\": 510", with: "\"eos_token_id\": [\"</s>\"]"));
        Assert.Contains("'eos_token_id'", error.Message);
    }

    [Fact]
    public void Missing_required_fields_are_all_named()
    {
        var error = Fails(SdarJson(replace: "\"hidden_size\": 64,", with: "").Replace("\"vocab_size\": 512,", "", StringComparison.Ordinal));
        Assert.Contains("'hidden_size'", error.Message);
        Assert.Contains("'vocab_size'", error.Message);
    }

    [Fact]
    public void A_null_required_field_counts_as_missing()
    {
        var error = Fails(SdarJson(replace: "\"head_dim\": 16", with: "\"head_dim\": null"));
        Assert.Contains("missing required field 'head_dim'", error.Message);
    }

    [Fact]
    public void An_unknown_model_type_lists_the_supported_ones()
    {
        var error = Fails(SdarJson(replace: "\"model_type\": \"sdar\"", with: "\"model_type\": \"llama\""));
        Assert.Contains("'llama'", error.Message);
        Assert.Contains("sdar, qwen3, sdar_moe, qwen3_moe", error.Message);
    }

    [Theory]
    [InlineData("\"hidden_size\": 64", "\"hidden_size\": 0", "hidden_size")]
    [InlineData("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "num_attention_heads")]
    [InlineData("\"block_size\": 4", "\"block_size\": 0", "block_size")]
    [InlineData("\"mask_token_id\": 511", "\"mask_token_id\": 512", "mask_token_id")]
    [InlineData("\"mask_token_id\": 511,", "", "mask_token_id")]
    public void Impossible_values_name_the_field(string replace, string with, string field)
    {
        var error = Fails(SdarJson(replace: replace, with: with));
        Assert.Contains($"'{field}'", error.Message);
    }

    [Fact]
    public void Qwen3_needs_no_block_size_or_mask_token()
    {
        var config = ConfigLoader.ParseModelConfig(
            SdarJson(replace: "\"model_type\": \"sdar\"", with: "\"model_type\": \"qwen3\"")
                .Replace("\"block_size\": 4,", "", StringComparison.Ordinal)
                .Replace("\"mask_token_id\": 511,", "", StringComparison.Ordinal), Origin);

        Assert.False(config.IsDiffusion);
        Assert.Null(config.MaskTokenId);
    }

    [Fact]
    public void Moe_fields_are_read_and_checked()
    {
        string moe = SdarJson(""", "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "norm_topk_prob": true""",
            replace: "\"model_type\": \"sdar\"", with: "\"model_type\": \"sdar_moe\"");

        var config = ConfigLoader.ParseModelConfig(moe, Origin);
        Assert.True(config.IsMoe);
        Assert.Equal(2, config.NumExpertsPerTok);
        Assert.True(config.NormTopkProb);

        var error = Fails(moe.Replace("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 5", StringComparison.Ordinal));
        Assert.Contains("'num_experts_per_tok'", error.Message);
    }

    [Fact]
    public void Invalid_json_names_the_file()
    {
        var error = Fails("{\"hidden_size\": ");
        Assert.Contains("not valid JSON", error.Message);
    }

    [Fact]
    public void Generation_config_reads_eos_as_int_or_list_and_sampling_defaults()
    {
        var list = ConfigLoader.ParseGenerationConfig(
            """{"eos_token_id": [151645, 151643], "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "do_sample": true, "transformers_version": "4.51.0"}""",
            "generation_config.json");
        Assert.Equal([151645, 151643], list.EosTokenIds);
        Assert.Equal(151643, list.PadTokenId);
        Assert.Equal(0.6, list.Temperature);
        Assert.Equal(20, list.TopK);
        Assert.Equal(0.95, list.TopP);
        Assert.True(list.DoSample);
        Assert.Null(list.MaxNewTokens);

        var single = ConfigLoader.ParseGenerationConfig("""{"eos_token_id": 7, "max_new_tokens": 64}""", "generation_config.json");
        Assert.Equal([7], single.EosTokenIds);
        Assert.Equal(64, single.MaxNewTokens);
    }

    [Fact]
    public void Generation_config_of_the_wrong_type_names_the_field()
    {
        var error = Assert.Throws<CheckpointException>(() =>
            ConfigLoader.ParseGenerationConfig("""{"top_k": "twenty"}""", "gen.json"));
        Assert.Contains("gen.json", error.Message);
        Assert.Contains("'top_k'", error.Message);
    }

    [Fact]
    public void A_missing_generation_config_gives_empty_defaults()
    {
        var config = ConfigLoader.LoadGenerationConfig(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "generation_config.json"));
        Assert.Same(GenerationConfig.Empty, config);
        Assert.Empty(config.EosTokenIds);
    }
}
