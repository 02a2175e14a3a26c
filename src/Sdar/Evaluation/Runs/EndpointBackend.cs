using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Collections.Concurrent;
using Sdar.Decoding;

namespace Sdar.Evaluation.Runs;

/// <summary>
/// Completions from any OpenAI-compatible server (<c>sdar serve</c>, or vLLM / SGLang / LMDeploy serving SDAR on
/// GPUs): one request per job, <see cref="Concurrency"/> in flight at once. Chat prompts go to
/// <c>/v1/chat/completions</c> as one user turn, raw prompts to <c>/v1/completions</c>. Sampling options go as their
/// OpenAI fields (only those that differ from OpenAI's defaults, so that servers without them are not asked);
/// SDAR's decoding knobs go as the extra body fields the caller passes (<c>remasking_strategy</c>, ...).
/// </summary>
public sealed class EndpointBackend : ICompletionBackend, IDisposable
{
    /// <summary>Attempts per request when the server is busy (429, 503) or the connection drops.</summary>
    private const int Attempts = 4;

    private readonly HttpClient _http;
    private readonly Uri _baseUri;
    private readonly string _model;
    private readonly GenerationOptions _options;
    private readonly IReadOnlyDictionary<string, JsonNode?> _extraBody;
    private readonly bool _chat;

    private EndpointBackend(HttpClient http, Uri baseUri, string model, GenerationOptions options, int concurrency, bool chat,
        IReadOnlyDictionary<string, JsonNode?> extraBody)
    {
        _http = http;
        _baseUri = baseUri;
        _model = model;
        _options = options;
        _chat = chat;
        _extraBody = extraBody;
        Concurrency = concurrency;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> (the server's address, with or without <c>/v1</c>) and names the model
    /// to ask for: <paramref name="model"/>, else the first one the server lists at <c>/v1/models</c>.
    /// </summary>
    public static EndpointBackend Connect(string endpoint, string? apiKey, string? model, GenerationOptions options, int concurrency, bool chat = true,
        IReadOnlyDictionary<string, JsonNode?>? extraBody = null, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var baseUri = BaseUri(endpoint);
        var http = new HttpClient { Timeout = requestTimeout ?? TimeSpan.FromMinutes(30) };
        if (!string.IsNullOrEmpty(apiKey)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        try
        {
            model ??= FirstModel(http, baseUri);
            return new EndpointBackend(http, baseUri, model, options, concurrency, chat, extraBody ?? new Dictionary<string, JsonNode?>());
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public string Description => $"{_baseUri} (model {_model})";

    public int Concurrency { get; }

    public void Run(IReadOnlyList<CompletionJob> jobs, Action<CompletionOutcome> finished, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(finished);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var done = new BlockingCollection<CompletionOutcome>();
        var queue = new ConcurrentQueue<CompletionJob>(jobs);
        Exception? failure = null;
        var workers = Enumerable.Range(0, Math.Min(Concurrency, Math.Max(1, jobs.Count))).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && queue.TryDequeue(out var job))
            {
                try
                {
                    done.Add(await CompleteAsync(job, stop.Token).ConfigureAwait(false));
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    await stop.CancelAsync().ConfigureAwait(false);
                }
            }
        })).ToArray();
        _ = Task.WhenAll(workers).ContinueWith(_ => done.CompleteAdding(), TaskScheduler.Default);
        try
        {
            // Outcomes are handed over on the calling thread, so the caller's bookkeeping needs no locks.
            foreach (var outcome in done.GetConsumingEnumerable())
            {
                if (failure is not null) break;
                finished(outcome);
            }
        }
        finally
        {
            // Whatever ended the loop (all done, a failed request, the caller's own error), no request outlives the call.
            stop.Cancel();
            try
            {
                Task.WaitAll(workers);
            }
            catch (AggregateException)
            {
                // A request cut short by the cancellation above; the error that matters is already on its way.
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (failure is not null) throw failure;
    }

    private async Task<CompletionOutcome> CompleteAsync(CompletionJob job, CancellationToken cancellationToken)
    {
        string path = _chat ? "chat/completions" : "completions";
        string body = RequestBody(job).ToJsonString();
        for (int attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                response = await _http.PostAsync(new Uri(_baseUri, path), content, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (attempt < Attempts)
            {
                _ = e;
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (HttpRequestException e)
            {
                throw new EndpointException($"--endpoint {_baseUri}{path}: item {job.Item}: {e.Message}", e);
            }
            using (response)
            {
                string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && attempt < Attempts)
                {
                    await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                    throw new EndpointException($"--endpoint {_baseUri}{path}: item {job.Item}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {Snippet(text)}");
                return Outcome(job, text, path);
            }
        }
    }

    private JsonObject RequestBody(CompletionJob job)
    {
        var body = new JsonObject { ["model"] = _model, ["max_tokens"] = _options.MaxNewTokens, ["temperature"] = _options.Temperature };
        if (_chat)
        {
            body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = job.Prompt });
            // As the local engine renders a turn: Qwen3-family templates' thinking off (vLLM and SGLang take this too).
            body["chat_template_kwargs"] = new JsonObject { ["enable_thinking"] = false };
        }
        else body["prompt"] = job.Prompt;
        if (_options.TopP < 1) body["top_p"] = _options.TopP;
        if (_options.TopK > 0) body["top_k"] = _options.TopK;
        if (_options.MinP > 0) body["min_p"] = _options.MinP;
        if (_options.Seed is { } seed) body["seed"] = seed + job.SeedOffset;
        if (_options.StopStrings.Count > 0) body["stop"] = new JsonArray([.. _options.StopStrings.Select(s => (JsonNode)s)]);
        if (_options.PresencePenalty != 0) body["presence_penalty"] = _options.PresencePenalty;
        if (_options.FrequencyPenalty != 0) body["frequency_penalty"] = _options.FrequencyPenalty;
        if (_options.RepetitionPenalty != 1) body["repetition_penalty"] = _options.RepetitionPenalty;
        foreach (var (name, value) in _extraBody) body[name] = value?.DeepClone();
        return body;
    }

    private CompletionOutcome Outcome(CompletionJob job, string responseText, string path)
    {
        string where = $"--endpoint {_baseUri}{path}: item {job.Item}: the response";
        try
        {
            using var document = JsonDocument.Parse(responseText);
            var root = document.RootElement;
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                throw new EndpointException($"{where} has no \"choices\": {Snippet(responseText)}");
            var choice = choices[0];
            string? text = _chat
                ? choice.TryGetProperty("message", out var message) && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString() : null
                : choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (text is null)
                throw new EndpointException($"{where}: expected a string at {(_chat ? "choices[0].message.content" : "choices[0].text")}: {Snippet(responseText)}");
            int tokens = root.TryGetProperty("usage", out var usage) && usage.TryGetProperty("completion_tokens", out var count) && count.TryGetInt32(out int n) ? n : 0;
            return new CompletionOutcome(job, text, tokens, Nfe: null);
        }
        catch (JsonException e)
        {
            throw new EndpointException($"{where} is not JSON ({e.Message}): {Snippet(responseText)}", e);
        }
    }

    private static string FirstModel(HttpClient http, Uri baseUri)
    {
        string where = $"--endpoint {baseUri}models";
        string text;
        try
        {
            using var response = http.GetAsync(new Uri(baseUri, "models")).GetAwaiter().GetResult();
            text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new EndpointException($"{where}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {Snippet(text)} (name the model with --endpoint-model)");
        }
        catch (HttpRequestException e)
        {
            throw new EndpointException($"{where}: {e.Message}", e);
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array && data.GetArrayLength() > 0
                && data[0].TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                return id.GetString()!;
        }
        catch (JsonException)
        {
        }
        throw new EndpointException($"{where}: expected {{\"data\": [{{\"id\": ...}}]}} listing the served models: {Snippet(text)} (name the model with --endpoint-model)");
    }

    /// <summary>The API root ending in <c>/v1/</c>, from an address given with or without it.</summary>
    public static Uri BaseUri(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new EndpointException($"--endpoint \"{endpoint}\": expected an http:// or https:// address, e.g. http://127.0.0.1:8000/v1");
        string path = uri.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith("/v1", StringComparison.Ordinal)) path += "/v1";
        return new UriBuilder(uri) { Path = path + "/", Query = "", Fragment = "" }.Uri;
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(250 * (1 << (attempt - 1)));

    private static string Snippet(string text) => text.Length <= 300 ? text : text[..297] + "...";

    public void Dispose() => _http.Dispose();
}

/// <summary>An OpenAI-compatible server could not be reached or answered something other than a completion.</summary>
public sealed class EndpointException : SdarException
{
    public EndpointException(string message) : base(message) { }
    public EndpointException(string message, Exception inner) : base(message, inner) { }
}
