using System.Text.Json;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Server;

namespace Sdar.Tests.Serving;

/// <summary>The request JSON -> engine request mapping, without HTTP.</summary>
public sealed class ServerRequestMapperTests
{
    private static CompletionRequest Map(string json, CompletionKind kind = CompletionKind.Text, GenerationConfig? defaults = null)
    {
        using var doc = JsonDocument.Parse(json);
        return CompletionRequestMapper.Map(doc.RootElement, kind, defaults ?? GenerationConfig.Empty);
    }

    [Fact]
    public void Every_knob_reaches_the_generation_options()
    {
        var request = Map("""
            {"prompt": "x", "max_tokens": 7, "temperature": 0.5, "top_p": 0.8, "top_k": 3, "min_p": 0.1, "seed": 42,
             "stop": "END", "presence_penalty": 0.25, "frequency_penalty": -0.5, "repetition_penalty": 1.2,
             "logit_bias": {"5": -100, "9": 2.5}, "block_length": 8, "denoising_steps": 4, "remasking_strategy": "entropy_bounded",
             "confidence_threshold": 0.7, "eb_threshold": 0.2, "n": 2, "stream": true, "stream_options": {"include_usage": true}}
            """);
        var o = request.Options;
        Assert.Equal((7, 0.5, 0.8, 3, 0.1, 42L), (o.MaxNewTokens, o.Temperature, o.TopP, o.TopK, o.MinP, o.Seed!.Value));
        Assert.Equal(["END"], o.StopStrings);
        Assert.Equal((0.25, -0.5, 1.2), (o.PresencePenalty, o.FrequencyPenalty, o.RepetitionPenalty));
        Assert.Equal(new Dictionary<int, double> { [5] = -100, [9] = 2.5 }, o.LogitBias);
        Assert.Equal((8, 4, "entropy_bounded", 0.7, 0.2), (o.BlockLength!.Value, o.DenoisingSteps!.Value, o.Strategy, o.ConfidenceThreshold, o.EbThreshold));
        Assert.Equal((2, true, true), (request.N, request.Stream, request.IncludeUsage));
        Assert.Equal("x", request.PromptText);
    }

    [Fact]
    public void Missing_knobs_take_the_model_defaults()
    {
        var greedy = Map("""{"prompt": "x"}""", defaults: new GenerationConfig { DoSample = false, MaxNewTokens = 99 }).Options;
        Assert.Equal((0.0, 99), (greedy.Temperature, greedy.MaxNewTokens));
        var sampled = Map("""{"prompt": "x"}""", defaults: new GenerationConfig { Temperature = 0.6, TopP = 0.95, TopK = 20 }).Options;
        Assert.Equal((0.6, 0.95, 20, CompletionRequestMapper.DefaultMaxTokens), (sampled.Temperature, sampled.TopP, sampled.TopK, sampled.MaxNewTokens));
        Assert.Equal(GenerationOptions.DefaultStrategy, sampled.Strategy);
        Assert.Empty(sampled.StopStrings);
        Assert.Null(sampled.Seed);
    }

    [Fact]
    public void Nulls_mean_not_given()
    {
        var request = Map("""{"prompt": "x", "max_tokens": null, "seed": null, "stop": null, "tools": null, "n": null}""");
        Assert.Equal((CompletionRequestMapper.DefaultMaxTokens, 1), (request.Options.MaxNewTokens, request.N));
        Assert.Null(request.Options.Seed);
    }

    [Fact]
    public void Choice_i_gets_seed_plus_i_and_no_seed_stays_random()
    {
        var seeded = Map("""{"prompt": "x", "seed": 10, "n": 3}""");
        Assert.Equal([10L, 11L, 12L], Enumerable.Range(0, 3).Select(i => seeded.OptionsForChoice(i).Seed!.Value));
        Assert.Null(Map("""{"prompt": "x", "n": 3}""").OptionsForChoice(2).Seed);
    }

    [Fact]
    public void Max_completion_tokens_wins_and_is_named_in_errors()
    {
        var request = Map("""{"messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 9}""", CompletionKind.Chat);
        Assert.Equal(9, request.Options.MaxNewTokens);
        var error = new GenerationOptionException("max_new_tokens", "at least 1", "0", "{option} must be at least 1; got 0");
        Assert.Equal("max_completion_tokens", CompletionRequestMapper.ParamOf(error, request));
        Assert.Equal("max_tokens", CompletionRequestMapper.ParamOf(error, Map("""{"prompt": "x"}""")));
        Assert.Equal("top_p", CompletionRequestMapper.ParamOf(new GenerationOptionException("top_p", "", "", ""), request));
    }

    [Fact]
    public void Chat_messages_flatten_text_parts_and_developer_becomes_system()
    {
        var request = Map("""
            {"messages": [{"role": "developer", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
             "chat_template_kwargs": {"enable_thinking": false}}
            """, CompletionKind.Chat);
        Assert.Equal("system", request.Messages![0]["role"]);
        Assert.Equal("ab", request.Messages[1]["content"]);
        Assert.False(request.EnableThinking);
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"messages": [{"role": "assistant", "content": null, "tool_calls": []}]}""", "messages[0].content")]
    [InlineData("""{"messages": [{"role": "wizard", "content": "x"}]}""", "messages[0].role")]
    [InlineData("""{"messages": [{"role": "user"}]}""", "messages[0].content")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "prompt": "y"}""", "prompt")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "stream_options": {"other": true}}""", "stream_options.other")]
    public void Chat_fields_the_server_cannot_honour_are_refused(string json, string param)
    {
        var error = Assert.Throws<ApiException>(() => Map(json, CompletionKind.Chat));
        Assert.Equal((400, param), (error.Status, error.Param));
    }

    [Theory]
    [InlineData("""{"prompt": ["a", "b"]}""", "unsupported_parameter")]
    [InlineData("""{"prompt": [1, -2]}""", "invalid_value")]
    [InlineData("""{"prompt": [[1], [2]]}""", "unsupported_parameter")]
    [InlineData("""{"prompt": {}}""", "invalid_type")]
    [InlineData("""{"prompt": "x", "echo": true}""", "unsupported_parameter")]
    [InlineData("""{"prompt": "x", "best_of": 2}""", "unsupported_parameter")]
    [InlineData("""{"prompt": "x", "messages": []}""", "unsupported_parameter")]
    public void Completion_prompts_are_one_text_or_one_list_of_ids(string json, string code)
    {
        var error = Assert.Throws<ApiException>(() => Map(json));
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void A_one_string_list_and_token_ids_are_prompts()
    {
        Assert.Equal("a", Map("""{"prompt": ["a"]}""").PromptText);
        Assert.Equal([1, 2, 3], Map("""{"prompt": [1, 2, 3], "best_of": 1, "echo": false}""").PromptIds);
    }

    [Fact]
    public void Integers_may_be_written_as_whole_floats()
    {
        Assert.Equal(8, Map("""{"prompt": "x", "max_tokens": 8.0}""").Options.MaxNewTokens);
        Assert.Equal("max_tokens", Assert.Throws<ApiException>(() => Map("""{"prompt": "x", "max_tokens": 1e12}""")).Param);
    }
}
