using System.ClientModel;
using System.Net;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using Sdar.Server;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Serving;

/// <summary>The tiny checkpoint behind an API key and a one-request queue.</summary>
public sealed class GuardedServerFixture : ServerFixture
{
    public const string Key = "sk-test-0123456789";
    protected override string ModelDir => CliRunner.TinySdar;
    protected override SdarServerOptions Options => base.Options with { ApiKey = Key, MaxQueued = 1, ServedModelName = "tiny" };
}

/// <summary>API keys, the bounded queue (429) and client disconnects.</summary>
public sealed class ServerAdmissionTests(GuardedServerFixture fixture) : IClassFixture<GuardedServerFixture>
{
    private const string Key = GuardedServerFixture.Key;

    /// <summary>
    /// Long enough to still run while the test does something else: the stop token is banned, and static unmasking
    /// makes it 900 forwards of one token (with the default dynamic strategy the tiny model sometimes finished before
    /// the test had sent its next request).
    /// </summary>
    private const string Long = """{"prompt": [1, 2, 3], "max_tokens": 900, "temperature": 0, "logit_bias": {"510": -100}, "remasking_strategy": "low_confidence_static", "stream": true}""";

    private ChatClient Client(string key) => new("tiny", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Url + "/v1") });

    [Fact]
    public async Task With_the_key_the_sdk_is_served_and_models_are_listed()
    {
        ChatCompletion answer = await Client(Key).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 });
        Assert.Equal("tiny", answer.Model);
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Server.Url + "/v1/models");
        request.Headers.Authorization = new("Bearer", Key);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"id\":\"tiny\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_follow_the_api_key()
    {
        using var anonymous = await fixture.Http.GetAsync(fixture.Server.Url + "/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Server.Url + "/metrics");
        request.Headers.Authorization = new("Bearer", Key);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("# TYPE sdar_kv_pages_used gauge", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_or_missing_key_is_401_and_health_stays_open()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client("sk-wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_api_key", (await fixture.PostErrorAsync("/v1/completions", """{"prompt": "x"}""", HttpStatusCode.Unauthorized, null)).GetProperty("code").GetString());
        await fixture.PostErrorAsync("/v1/completions", """{"prompt": "x"}""", HttpStatusCode.Unauthorized, null, apiKey: Key + "x");
        using var models = await fixture.Http.GetAsync(fixture.Server.Url + "/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        using var health = await fixture.Http.GetAsync(fixture.Server.Url + "/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after_and_a_disconnect_frees_the_slot()
    {
        await fixture.WaitIdleAsync();
        using var leaving = new CancellationTokenSource();
        using var first = await OpenStreamAsync(Long, leaving.Token);
        Assert.Equal(1, fixture.Server.Pending);

        var (status, json, response) = await fixture.PostAsync("/v1/completions", """{"prompt": "x", "max_tokens": 2}""", Key);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("rate_limit_exceeded", json.GetProperty("error").GetProperty("code").GetString());
        Assert.NotNull(response.Headers.RetryAfter);

        // The client goes away mid-stream: its sequence is aborted and the next request gets in.
        await leaving.CancelAsync();
        first.Dispose();
        await fixture.WaitIdleAsync();
        var (after, body, _) = await fixture.PostAsync("/v1/completions", """{"prompt": "x", "max_tokens": 2}""", Key);
        Assert.True(after == HttpStatusCode.OK, body.ToString());
    }

    [Fact]
    public async Task A_request_refused_for_its_options_leaves_nothing_queued()
    {
        await fixture.WaitIdleAsync();
        await fixture.PostErrorAsync("/v1/completions", """{"prompt": "x", "denoising_steps": 99}""", HttpStatusCode.BadRequest, "denoising_steps", Key);
        Assert.Equal(0, fixture.Server.Pending);
    }

    /// <summary>Starts a streaming request and reads its first event, so that it is surely running.</summary>
    private async Task<HttpResponseMessage> OpenStreamAsync(string body, CancellationToken cancellation)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, fixture.Server.Url + "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", Key);
        var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync(cancellation);
        var reader = new StreamReader(stream);
        string? line = await reader.ReadLineAsync(cancellation);
        Assert.StartsWith("data: ", line, StringComparison.Ordinal);
        return response;
    }

    [Fact]
    public async Task Tools_a_template_cannot_render_are_refused_not_ignored()
    {
        var error = await fixture.PostErrorAsync("/v1/chat/completions",
            """{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]}""",
            System.Net.HttpStatusCode.BadRequest, "tools", GuardedServerFixture.Key);
        Assert.Equal("unsupported_parameter", error.GetProperty("code").GetString());
    }
}
