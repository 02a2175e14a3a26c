using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Serving;

namespace Sdar.Server;

/// <summary>How <see cref="SdarServer"/> listens and whom it lets in.</summary>
public sealed record SdarServerOptions
{
    /// <summary>Address to bind: loopback by default, so nothing outside the machine reaches the model unless asked.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 = any free port (see <see cref="SdarServer.Url"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>With a key, every /v1 route needs <c>Authorization: Bearer KEY</c>; /health stays open.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model id of /v1/models and of the responses; null = the model folder's name.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>Most requests (choices) queued or running at once; beyond it the server answers 429.</summary>
    public int MaxQueued { get; init; } = 256;

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 8 << 20;

    /// <summary>
    /// False (the default): disposing the server disposes its model. True: the caller keeps the model, e.g. to start
    /// a fresh server (and engine) over it again.
    /// </summary>
    public bool LeaveModelOpen { get; init; }
}

/// <summary>
/// The OpenAI-compatible HTTP server: Kestrel with minimal APIs over one <see cref="LoadedModel"/>, its
/// <see cref="Engine"/> and the <see cref="EngineHost"/> loop that batches every request in flight.
/// </summary>
public sealed class SdarServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EngineHost _host;
    private readonly LoadedModel _model;
    private readonly bool _ownsModel;

    private SdarServer(WebApplication app, EngineHost host, LoadedModel model, string modelName, string url, bool ownsModel)
    {
        _ownsModel = ownsModel;
        _app = app;
        _host = host;
        _model = model;
        ModelName = modelName;
        Url = url;
    }

    /// <summary>The address it listens on, e.g. <c>http://127.0.0.1:8000</c> (the real port when 0 was asked; no trailing slash).</summary>
    public string Url { get; }

    /// <summary>The model id clients send and receive.</summary>
    public string ModelName { get; }

    /// <summary>Requests in the engine host now (waiting or running).</summary>
    public int Pending => _host.Pending;

    /// <summary>The engine loop (for tests and metrics: its snapshot of queues and KV pages).</summary>
    internal EngineHost Host => _host;

    /// <summary>Starts serving <paramref name="model"/>, which the server owns from here on (it disposes it).</summary>
    public static Task<SdarServer> StartAsync(LoadedModel model, EngineOptions? engineOptions = null, SdarServerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        (engineOptions ?? new EngineOptions()).Validate();
        return StartAsync(model, model.CreateEngine(engineOptions), options, cancellationToken);
    }

    /// <summary>
    /// Starts serving <paramref name="engine"/>, whose prompts and answers are read and written with
    /// <paramref name="model"/>'s tokenizer, chat template and defaults (a model wrapped or replaced for testing,
    /// say). The server owns both from here on.
    /// </summary>
    public static async Task<SdarServer> StartAsync(LoadedModel model, Engine engine, SdarServerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(engine);
        options ??= new SdarServerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRequestBodyBytes, 1);
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"--port must be in 0..65535; got {options.Port}");
        var address = ParseHost(options.Host);
        string modelName = options.ServedModelName ?? model.Name;
        var host = new EngineHost(engine, options.MaxQueued);
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            // The host of a library must not take over the process's Ctrl-C and SIGTERM: the caller decides when to stop.
            builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, CallerOwnedLifetime>();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
                kestrel.AddServerHeader = false;
                kestrel.Listen(address, options.Port);
            });
            var app = builder.Build();
            MapRoutes(app, new CompletionEndpoint(model, host, modelName), modelName, options.ApiKey, new ServerMetrics(host));
            await app.StartAsync(cancellationToken);
            string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new SdarServer(app, host, model, modelName, bound.Replace("[::]", "localhost", StringComparison.Ordinal).TrimEnd('/'), !options.LeaveModelOpen);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static IPAddress ParseHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        _ when IPAddress.TryParse(host, out var ip) => ip,
        _ => throw new ArgumentException($"--host must be an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost; got '{host}'"),
    };

    private static void MapRoutes(WebApplication app, CompletionEndpoint completions, string modelName, string? apiKey, ServerMetrics metrics)
    {
        if (!string.IsNullOrEmpty(apiKey)) app.Use(RequireKey(apiKey));
        app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/v1"))
            {
                await next(context);
                return;
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await next(context);
            }
            finally
            {
                string route = context.Request.Path.StartsWithSegments("/v1/chat/completions") ? "/v1/chat/completions"
                    : context.Request.Path.StartsWithSegments("/v1/completions") ? "/v1/completions"
                    : context.Request.Path.StartsWithSegments("/v1/models") ? "/v1/models" : "other";
                int status = context.RequestAborted.IsCancellationRequested ? 499 : context.Response.StatusCode;
                metrics.Record(route, status, clock.Elapsed);
            }
        });
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                // Never a bare 500 page: clients parse the OpenAI error object.
                await CompletionEndpoint.WriteErrorAsync(context.Response, new ApiException(500, $"internal error ({e.GetType().Name}): {e.Message}", null, "internal_error", "server_error"));
            }
        });
        app.MapGet("/health", () => Results.Text("{\"status\":\"ok\"}", "application/json"));
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        app.MapGet("/v1/models", (HttpContext context) => CompletionEndpoint.WriteJsonAsync(context.Response, new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(ModelJson(modelName)),
        }));
        app.MapGet("/v1/models/{id}", (HttpContext context, string id) => id == modelName
            ? CompletionEndpoint.WriteJsonAsync(context.Response, ModelJson(modelName))
            : CompletionEndpoint.WriteErrorAsync(context.Response, new ApiException(404, $"the model '{id}' does not exist", "model", "model_not_found")));
        app.MapPost("/v1/chat/completions", (HttpContext context) => completions.HandleAsync(context, CompletionKind.Chat));
        app.MapPost("/v1/completions", (HttpContext context) => completions.HandleAsync(context, CompletionKind.Text));
        app.MapFallback((HttpContext context) => CompletionEndpoint.WriteErrorAsync(context.Response,
            new ApiException(404, $"no route {context.Request.Method} {context.Request.Path}", null, "not_found")));
    }

    private static JsonObject ModelJson(string modelName) => new()
    {
        ["id"] = modelName,
        ["object"] = "model",
        ["created"] = 0,
        ["owned_by"] = "sdar",
    };

    /// <summary>
    /// Bearer-key check for /v1. Both sides are hashed first so that the comparison takes the same time whatever the
    /// length or content of the key a client sends.
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireKey(string apiKey)
    {
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
        return async (context, next) =>
        {
            // /health stays open (load balancers probe it); /metrics follows the key like /v1.
            if (context.Request.Path.StartsWithSegments("/v1") || context.Request.Path.StartsWithSegments("/metrics"))
            {
                string header = context.Request.Headers.Authorization.ToString();
                const string Bearer = "Bearer ";
                string given = header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) ? header[Bearer.Length..].Trim() : "";
                byte[] actual = SHA256.HashData(Encoding.UTF8.GetBytes(given));
                if (given.Length == 0 || !CryptographicOperations.FixedTimeEquals(expected, actual))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await CompletionEndpoint.WriteErrorAsync(context.Response, new ApiException(401,
                        given.Length == 0 ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key", null, "invalid_api_key"));
                    return;
                }
            }
            await next(context);
        };
    }

    /// <summary>Stops accepting requests, lets those in flight end (or aborts them after the timeout), then frees the model.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        await _host.DisposeAsync();
        if (_ownsModel) _model.Dispose();
    }
}

/// <summary>A host lifetime that leaves the process's signals alone; <see cref="SdarServer.DisposeAsync"/> stops the server.</summary>
internal sealed class CallerOwnedLifetime : Microsoft.Extensions.Hosting.IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
