using System.Net;
using System.Text;
using System.Text.Json;

namespace Sdar.Tests.Serving;

/// <summary>The HTTP routes as plain JSON: completions, n, streaming format, the SDAR knobs and every error class.</summary>
public sealed class ServerHttpTests(BundledServerFixture fixture) : IClassFixture<BundledServerFixture>
{
    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Hi = """ "messages": [{"role": "user", "content": "Hello"}] """;

    [Fact]
    public async Task Health_and_models_answer()
    {
        Assert.Equal("""{"status":"ok"}""", await fixture.Http.GetStringAsync(fixture.Server.Url + "/health"));
        using var models = JsonDocument.Parse(await fixture.Http.GetStringAsync(fixture.Server.Url + "/v1/models"));
        Assert.Equal("list", models.RootElement.GetProperty("object").GetString());
        Assert.Equal("sdar-mini", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Completions_continue_a_prompt_given_as_text_or_token_ids()
    {
        var text = await fixture.PostOkAsync(Completions, """{"model": "sdar-mini", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""");
        Assert.Equal("text_completion", text.GetProperty("object").GetString());
        var choice = text.GetProperty("choices")[0];
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        int promptTokens = text.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();

        var ids = await fixture.PostOkAsync(Completions, """{"prompt": [10, 20, 30], "max_tokens": 4, "temperature": 0}""");
        Assert.Equal(3, ids.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.True(promptTokens >= 3);
    }

    [Fact]
    public async Task Streamed_completions_equal_the_whole_text_and_end_with_done()
    {
        const string Body = """ "prompt": "The quick brown fox", "max_tokens": 16, "temperature": 0 """;
        var whole = await fixture.PostOkAsync(Completions, "{" + Body + "}");
        var events = await StreamAsync(Completions, "{" + Body + """, "stream": true, "stream_options": {"include_usage": true}}""");
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").GetProperty("total_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        string text = string.Concat(chunks[..^1].Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), text);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(),
            chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Chat_stream_starts_with_the_role_and_has_no_usage_unless_asked()
    {
        var events = await StreamAsync(Chat, "{" + Hi + """, "max_tokens": 8, "temperature": 0, "stream": true}""");
        Assert.Equal("[DONE]", events[^1]);
        var first = JsonDocument.Parse(events[0]).RootElement;
        Assert.Equal("chat.completion.chunk", first.GetProperty("object").GetString());
        Assert.Equal("assistant", first.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var last = JsonDocument.Parse(events[^2]).RootElement;
        Assert.False(last.TryGetProperty("usage", out _));
        Assert.Equal(JsonValueKind.String, last.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
    }

    [Fact]
    public async Task N_choices_use_seed_plus_i_and_the_same_seed_repeats_them()
    {
        const string Body = """{"prompt": "Hello", "max_tokens": 12, "temperature": 1.0, "n": 3, "seed": 7}""";
        var first = await fixture.PostOkAsync(Completions, Body);
        var again = await fixture.PostOkAsync(Completions, Body);
        var texts = first.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()).ToArray();
        Assert.Equal(3, texts.Length);
        Assert.Equal(texts, again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        Assert.Equal([0, 1, 2], first.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        // Choice 1 of seed 7 is choice 0 of seed 8.
        var shifted = await fixture.PostOkAsync(Completions, """{"prompt": "Hello", "max_tokens": 12, "temperature": 1.0, "seed": 8}""");
        Assert.Equal(texts[1], shifted.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Streamed_n_choices_carry_their_index()
    {
        var events = await StreamAsync(Chat, "{" + Hi + """, "max_tokens": 8, "temperature": 0, "n": 2, "stream": true}""");
        var finished = events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0])
            .Where(c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String).Select(c => c.GetProperty("index").GetInt32()).Order();
        Assert.Equal([0, 1], finished);
    }

    [Fact]
    public async Task Sdar_knobs_and_penalties_are_accepted()
    {
        var json = await fixture.PostOkAsync(Chat, "{" + Hi + """
            , "max_completion_tokens": 8, "temperature": 0.7, "top_p": 0.9, "top_k": 20, "min_p": 0.05, "seed": 1,
            "block_length": 4, "denoising_steps": 2, "remasking_strategy": "low_confidence_static", "confidence_threshold": 0.8,
            "eb_threshold": 0.3, "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": 0.5,
            "logit_bias": {"10": -100}, "user": "test", "stop": ["\n\n"], "chat_template_kwargs": {"enable_thinking": false}}
            """);
        Assert.InRange(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 8);
    }

    [Fact]
    public async Task Logit_bias_of_100_forces_a_token()
    {
        var json = await fixture.PostOkAsync(Completions, """{"prompt": [10, 20], "max_tokens": 4, "temperature": 0, "logit_bias": {"65": 100}}""");
        var again = await fixture.PostOkAsync(Completions, """{"prompt": [10, 20], "max_tokens": 4, "temperature": 0}""");
        Assert.NotEqual(again.GetProperty("choices")[0].GetProperty("text").GetString(), json.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("""{"prompt": "x", "max_tokens": -1}""", "max_tokens")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 0}""", "max_completion_tokens")]
    [InlineData("""{"prompt": "x", "block_length": 0}""", "block_length")]
    [InlineData("""{"prompt": "x", "denoising_steps": 0}""", "denoising_steps")]
    [InlineData("""{"prompt": "x", "denoising_steps": 9, "block_length": 4}""", "denoising_steps")]
    [InlineData("""{"prompt": "x", "confidence_threshold": 1.5}""", "confidence_threshold")]
    [InlineData("""{"prompt": "x", "top_p": 0}""", "top_p")]
    [InlineData("""{"prompt": "x", "temperature": -1}""", "temperature")]
    [InlineData("""{"prompt": "x", "remasking_strategy": "nope"}""", "remasking_strategy")]
    [InlineData("""{"prompt": "x", "presence_penalty": 3}""", "presence_penalty")]
    [InlineData("""{"prompt": "x", "logit_bias": {"99999999": 1}}""", "logit_bias")]
    [InlineData("""{"prompt": "x", "logit_bias": {"abc": 1}}""", "logit_bias")]
    [InlineData("""{"prompt": "x", "stop": [""]}""", "stop")]
    [InlineData("""{"prompt": "x", "n": 17}""", "n")]
    [InlineData("""{"prompt": "x", "n": 0}""", "n")]
    [InlineData("""{"prompt": "x", "max_tokens": 100000}""", "max_tokens")]
    public async Task Out_of_range_values_are_400_naming_the_field(string body, string param) =>
        await fixture.PostErrorAsync(body.Contains("messages") ? Chat : Completions, body, HttpStatusCode.BadRequest, param);

    [Theory]
    [InlineData("""{"prompt": 5}""", "prompt")]
    [InlineData("""{"prompt": "x", "max_tokens": "8"}""", "max_tokens")]
    [InlineData("""{"prompt": "x", "max_tokens": 1.5}""", "max_tokens")]
    [InlineData("""{"prompt": "x", "temperature": "hot"}""", "temperature")]
    [InlineData("""{"prompt": "x", "stream": "yes"}""", "stream")]
    [InlineData("""{"prompt": "x", "stop": 3}""", "stop")]
    [InlineData("""{"prompt": "x", "model": 3}""", "model")]
    [InlineData("""{"max_tokens": 3}""", "prompt")]
    [InlineData("""{"messages": "hi"}""", "messages")]
    [InlineData("""{"messages": []}""", "messages")]
    [InlineData("""{"messages": [{"content": "hi"}]}""", "messages")]
    [InlineData("""{"model": "sdar-mini"}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"enable_thinking": "no"}}""", "chat_template_kwargs.enable_thinking")]
    [InlineData("""{"prompt": "x", "stream_options": {"include_usage": 1}}""", "stream_options.include_usage")]
    public async Task Missing_or_wrongly_typed_fields_are_400_naming_the_field(string body, string param) =>
        await fixture.PostErrorAsync(body.Contains("messages") || body.Contains("model\": \"sdar") ? Chat : Completions, body, HttpStatusCode.BadRequest, param);

    [Theory]
    [InlineData("functions", """[{"name": "f"}]""")]
    [InlineData("response_format", """{"type": "json_object"}""")]
    [InlineData("frobnicate", "1")]
    public async Task Fields_that_would_change_the_answer_are_refused_not_ignored(string field, string value)
    {
        var error = await fixture.PostErrorAsync(Chat, "{" + Hi + $", \"{field}\": {value}}}", HttpStatusCode.BadRequest, field);
        Assert.Equal("unsupported_parameter", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Fields_set_to_their_off_value_are_fine() =>
        await fixture.PostOkAsync(Chat, "{" + Hi + """, "max_tokens": 2, "logprobs": false, "response_format": {"type": "text"}, "tools": null}""");

    [Fact]
    public async Task Malformed_json_is_400() =>
        Assert.Equal("invalid_json", (await fixture.PostErrorAsync(Chat, """{"messages": [""", HttpStatusCode.BadRequest, null)).GetProperty("code").GetString());

    [Fact]
    public async Task A_body_that_is_not_an_object_is_400() =>
        await fixture.PostErrorAsync(Completions, "[1, 2]", HttpStatusCode.BadRequest, null);

    [Fact]
    public async Task Unknown_model_is_404() =>
        await fixture.PostErrorAsync(Completions, """{"model": "gpt-9", "prompt": "x"}""", HttpStatusCode.NotFound, "model");

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_400()
    {
        string ids = string.Join(",", Enumerable.Repeat(10, 2100));
        var error = await fixture.PostErrorAsync(Completions, $$"""{"prompt": [{{ids}}], "max_tokens": 1}""", HttpStatusCode.BadRequest, "prompt");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        string long_ = string.Concat(Enumerable.Repeat("word ", 2500));
        await fixture.PostErrorAsync(Chat, $$"""{"messages": [{"role": "user", "content": "{{long_}}"}]}""", HttpStatusCode.BadRequest, "messages");
    }

    [Fact]
    public async Task An_oversized_body_is_413()
    {
        string huge = new('a', 100 << 10);
        await fixture.PostErrorAsync(Completions, $$"""{"prompt": "{{huge}}"}""", HttpStatusCode.RequestEntityTooLarge, null);
    }

    [Fact]
    public async Task Errors_do_not_disturb_a_request_in_flight()
    {
        const string Body = """{"prompt": "The quick brown fox", "max_tokens": 48, "temperature": 0, "logit_bias": {"984": -100}}""";
        var alone = await fixture.PostOkAsync(Completions, Body);
        var inFlight = fixture.PostOkAsync(Completions, Body);
        await fixture.PostErrorAsync(Completions, """{"prompt": "x", "max_tokens": -1}""", HttpStatusCode.BadRequest, "max_tokens");
        await fixture.PostErrorAsync(Completions, """{"prompt": """, HttpStatusCode.BadRequest, null);
        await fixture.PostErrorAsync(Completions, """{"prompt": "x", "tools": [{}]}""", HttpStatusCode.BadRequest, "tools");
        var during = await inFlight;
        Assert.Equal(alone.GetProperty("choices")[0].GetProperty("text").GetString(), during.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Concurrent_requests_get_the_answers_they_get_alone()
    {
        string[] prompts = ["Once upon a time", "The capital of France", "1, 2, 3,", "Hello there"];
        string Body(string prompt, int i) => $$"""{"prompt": "{{prompt}}", "max_tokens": {{12 + 8 * i}}, "temperature": 0, "block_length": {{(i % 2 == 0 ? 4 : 8)}}}""";
        var alone = new List<string?>();
        for (int i = 0; i < prompts.Length; i++)
            alone.Add((await fixture.PostOkAsync(Completions, Body(prompts[i], i))).GetProperty("choices")[0].GetProperty("text").GetString());
        var together = await Task.WhenAll(prompts.Select((p, i) => fixture.PostOkAsync(Completions, Body(p, i))));
        Assert.Equal(alone, together.Select(j => j.GetProperty("choices")[0].GetProperty("text").GetString()));
        await fixture.WaitIdleAsync();
    }

    [Fact]
    public async Task Unknown_routes_are_404_in_the_openai_format()
    {
        using var response = await fixture.Http.GetAsync(fixture.Server.Url + "/v1/embeddings");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.TryGetProperty("error", out _));
    }

    /// <summary>The data lines of a server-sent event stream, checking the framing: every event is "data: ...\n\n".</summary>
    private async Task<string[]> StreamAsync(string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Server.Url + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await fixture.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("\n\n", text, StringComparison.Ordinal);
        var events = text[..^2].Split("\n\n");
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        return events.Select(e => e["data: ".Length..]).ToArray();
    }
}
