using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Bench;
using Sdar.Decoding;
using Sdar.Runtime;

namespace Sdar.Server;

/// <summary>One concurrency level of <see cref="ServerBenchmark"/>: the HTTP figures and the engine's own, measured in the same run.</summary>
/// <param name="TimeToFirstTextMsMean">From sending a request to the first streamed event that carries text (a finished block).</param>
/// <param name="HttpCost">1 - HTTP tokens/s over engine tokens/s: what the server, its JSON and SSE and the client cost.</param>
public sealed record ServerBenchResult(
    int Concurrency,
    int Requests,
    long GeneratedTokens,
    double Seconds,
    double TokensPerSecond,
    double TimeToFirstTextMsMean,
    double TimeToFirstTextMsP95,
    double LatencyMsMean,
    double LatencyMsP95,
    EngineBenchResult Engine)
{
    public double HttpCost => Engine.TokensPerSecond > 0 ? 1 - TokensPerSecond / Engine.TokensPerSecond : 0;
}

/// <summary>
/// Throughput and time to first text through <c>sdar serve</c>'s HTTP API, next to the engine alone on the same
/// model, prompts and options: <c>concurrency</c> HTTP clients in a closed loop send streamed
/// <c>/v1/completions</c> requests (the prompts as token ids, so the engine sees exactly what the engine benchmark
/// feeds it) to a real server on loopback, and <see cref="EngineBenchmark"/> runs the same requests right before,
/// in the same process, each run on a fresh engine (and server). With greedy decoding both produce the same tokens,
/// so the difference is the HTTP layer.
/// The clients run on the same machine as the server and take their share of its cores.
/// </summary>
public sealed class ServerBenchmark : IAsyncDisposable
{
    private readonly LoadedModel _model;
    private readonly IReadOnlyList<int[]> _prompts;
    private readonly GenerationOptions _options;
    private readonly EngineOptions _engineOptions;
    private readonly EngineBenchmark _engineBenchmark;
    private readonly HttpClient _http;
    private bool _warm;

    /// <summary>
    /// A benchmark over <paramref name="model"/> (which it owns from here: disposing the benchmark disposes it).
    /// <paramref name="options"/> must be expressible as an API request (no extra stop ids, no stop strings, the
    /// default penalty window and commit), so that the engine alone and the server run the same decoding.
    /// </summary>
    public ServerBenchmark(LoadedModel model, IReadOnlyList<int[]> prompts, GenerationOptions options, EngineOptions engineOptions, int threads)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(engineOptions);
        if (prompts.Count == 0) throw new ArgumentException("the benchmark needs at least one prompt", nameof(prompts));
        if (options.StopTokenIds.Count > 0 || options.StopStrings.Count > 0 || !options.FusedCommit
            || options.PenaltyLastN != GenerationOptions.DefaultPenaltyLastN || (options.IgnoreEos && model.StopTokenIds.Count > 0))
            throw new ArgumentException("the server benchmark sends its requests over the OpenAI API, which has no stop ids, ignore_eos, penalty window or fused-commit switch; leave those at their defaults");
        _model = model;
        _prompts = prompts;
        _options = options;
        _engineOptions = engineOptions;
        _engineBenchmark = new EngineBenchmark(model.Weights, model.Model, model.StopTokenIds, prompts, options, engineOptions, threads);
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4096 }) { Timeout = TimeSpan.FromHours(1) };
    }

    /// <summary>
    /// A fresh server over the model for one run: a new engine, as the engine benchmark makes for each of its runs,
    /// so that neither side finds the other's prompts in its prefix cache.
    /// </summary>
    private Task<SdarServer> StartServerAsync(int concurrency)
    {
        var engine = new Engine(_model.Model, _engineOptions with { MaxRunningSequences = concurrency }, _model.StopTokenIds,
            ids => _model.Tokenizer.Decode(ids, skipSpecialTokens: true));
        return SdarServer.StartAsync(_model, engine,
            new SdarServerOptions { Host = "127.0.0.1", Port = 0, MaxQueued = Math.Max(256, 2 * concurrency), LeaveModelOpen = true });
    }

    /// <summary>
    /// The engine alone, then the same requests over HTTP, at one concurrency, <paramref name="rounds"/> times
    /// alternating (this machine is noisy): tokens/s are each side's median round, times to first text and
    /// latencies are pooled over the rounds.
    /// </summary>
    public async Task<ServerBenchResult> RunAsync(int concurrency, int requests, int rounds = 1, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        if (!_warm)
        {
            // Whole answers both ways first, so that neither side is timed while the JIT still runs its first-tier code.
            _engineBenchmark.Run(1, 2);
            await using (var server = await StartServerAsync(1))
                for (int i = 0; i < 2; i++) await SendAsync(server.Url, i, _options, cancellation);
            _warm = true;
        }
        var engineRounds = new List<EngineBenchResult>(rounds);
        var httpRounds = new List<(double Seconds, long Tokens)>(rounds);
        var samples = new List<(double FirstText, double Latency, int Tokens)>(requests * rounds);
        for (int round = 0; round < rounds; round++)
        {
            engineRounds.Add(_engineBenchmark.Run(concurrency, requests));
            var (seconds, roundSamples) = await OverHttpAsync(concurrency, requests, cancellation);
            httpRounds.Add((seconds, roundSamples.Sum(r => (long)r.Tokens)));
            samples.AddRange(roundSamples);
        }
        var engine = engineRounds.OrderBy(r => r.TokensPerSecond).ElementAt(rounds / 2);
        var http = httpRounds.OrderBy(r => r.Tokens / r.Seconds).ElementAt(rounds / 2);
        var firstText = samples.Select(s => s.FirstText).Order().ToArray();
        var latencies = samples.Select(s => s.Latency).Order().ToArray();
        return new ServerBenchResult(concurrency, requests, http.Tokens, http.Seconds, http.Tokens / http.Seconds,
            firstText.Average(), EngineBenchmark.Percentile(firstText, 0.95),
            latencies.Average(), EngineBenchmark.Percentile(latencies, 0.95), engine);
    }

    /// <summary><paramref name="concurrency"/> clients in a closed loop until <paramref name="requests"/> answers are in.</summary>
    private async Task<(double Seconds, List<(double FirstText, double Latency, int Tokens)> Samples)> OverHttpAsync(int concurrency, int requests,
        CancellationToken cancellation)
    {
        await using var server = await StartServerAsync(concurrency);
        int next = 0;
        var samples = new List<(double FirstText, double Latency, int Tokens)>(requests);
        var clock = Stopwatch.StartNew();
        async Task Client()
        {
            while (true)
            {
                int index = Interlocked.Increment(ref next) - 1;
                if (index >= requests) return;
                var options = _options.Seed is { } seed ? _options with { Seed = seed + index } : _options;
                var sample = await SendAsync(server.Url, index, options, cancellation);
                lock (samples) samples.Add(sample);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Client, cancellation)));
        return (clock.Elapsed.TotalSeconds, samples);
    }

    /// <summary>One streamed completion: milliseconds to the first text and to the end, and the tokens generated (from the usage chunk).</summary>
    private async Task<(double FirstText, double Latency, int Tokens)> SendAsync(string url, int index, GenerationOptions options, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, url + "/v1/completions")
        {
            Content = new StringContent(RequestBody(_prompts[index % _prompts.Count], options), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellation)}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
        double firstText = -1;
        int tokens = -1;
        while (await reader.ReadLineAsync(cancellation) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            string data = line["data: ".Length..];
            if (data == "[DONE]") break;
            using var chunk = JsonDocument.Parse(data);
            var root = chunk.RootElement;
            if (root.TryGetProperty("error", out var error)) throw new InvalidOperationException($"the server's stream failed: {error}");
            if (firstText < 0 && root.GetProperty("choices") is { ValueKind: JsonValueKind.Array } choices && choices.GetArrayLength() > 0
                && choices[0].GetProperty("text").GetString() is { Length: > 0 })
                firstText = clock.Elapsed.TotalMilliseconds;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                tokens = usage.GetProperty("completion_tokens").GetInt32();
        }
        if (tokens < 0) throw new InvalidOperationException("the server's stream ended without its usage chunk");
        double latency = clock.Elapsed.TotalMilliseconds;
        return (firstText < 0 ? latency : firstText, latency, tokens);
    }

    /// <summary>The API request for these options (the SDAR knobs as the extra fields <c>sdar serve</c> reads).</summary>
    private string RequestBody(int[] prompt, GenerationOptions options)
    {
        var body = new JsonObject
        {
            ["prompt"] = new JsonArray([.. prompt.Select(id => (JsonNode)id)]),
            ["max_tokens"] = options.MaxNewTokens,
            ["temperature"] = options.Temperature,
            ["top_p"] = options.TopP,
            ["top_k"] = options.TopK,
            ["min_p"] = options.MinP,
            ["presence_penalty"] = options.PresencePenalty,
            ["frequency_penalty"] = options.FrequencyPenalty,
            ["repetition_penalty"] = options.RepetitionPenalty,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        if (options.Seed is { } seed) body["seed"] = seed;
        if (options.LogitBias.Count > 0)
            body["logit_bias"] = new JsonObject(options.LogitBias.Select(b => KeyValuePair.Create(b.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)b.Value)));
        if (_model.Config.IsDiffusion)
        {
            if (options.BlockLength is { } block) body["block_length"] = block;
            if (options.DenoisingSteps is { } steps) body["denoising_steps"] = steps;
            body["remasking_strategy"] = options.Strategy;
            body["confidence_threshold"] = options.ConfidenceThreshold;
            body["eb_threshold"] = options.EbThreshold;
        }
        return body.ToJsonString();
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        _model.Dispose();
        return ValueTask.CompletedTask;
    }
}
