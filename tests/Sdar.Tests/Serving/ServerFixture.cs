using System.Net;
using System.Text;
using System.Text.Json;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Server;

namespace Sdar.Tests.Serving;

/// <summary>A real <see cref="SdarServer"/> on 127.0.0.1 (any free port) over a model folder, and an HttpClient for it.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    public SdarServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    protected abstract string ModelDir { get; }
    protected virtual SdarServerOptions Options => new() { Host = "127.0.0.1", Port = 0, MaxRequestBodyBytes = 64 << 10 };
    protected virtual EngineOptions EngineOptions => new() { KvCacheTokens = 16384 };

    public async Task InitializeAsync()
    {
        var model = LoadedModel.Open(ModelDir);
        Server = await SdarServer.StartAsync(model, EngineOptions, Options);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>POSTs a JSON body (as text, so that malformed bodies can be sent) and returns status, headers and the parsed answer.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Json, HttpResponseMessage Response)> PostAsync(string path, string body, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Server.Url + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new("Bearer", apiKey);
        var response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, doc.RootElement.Clone(), response);
    }

    public async Task<JsonElement> PostOkAsync(string path, string body)
    {
        var (status, json, _) = await PostAsync(path, body);
        Assert.True(status == HttpStatusCode.OK, $"{status}: {json}");
        return json;
    }

    /// <summary>Asserts an OpenAI error object with this status and param.</summary>
    public async Task<JsonElement> PostErrorAsync(string path, string body, HttpStatusCode status, string? param, string? apiKey = null)
    {
        var (actual, json, _) = await PostAsync(path, body, apiKey);
        Assert.True(actual == status, $"expected {status}, got {actual}: {json}");
        var error = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        if (param is null) Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        else Assert.Equal(param, error.GetProperty("param").GetString());
        return error;
    }

    /// <summary>Waits until the engine holds no request (they end asynchronously after a client leaves).</summary>
    public async Task WaitIdleAsync()
    {
        for (int i = 0; i < 200 && Server.Pending > 0; i++) await Task.Delay(50);
        Assert.Equal(0, Server.Pending);
    }
}

/// <summary>The bundled sdar-mini: real text, so streamed and whole answers can be compared as text.</summary>
public sealed class BundledServerFixture : ServerFixture
{
    protected override string ModelDir => BundledModels.Locate();
}
