using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Templates;

namespace Sdar.Serving;

/// <summary>
/// A local Sdar model as a Microsoft.Extensions.AI <see cref="IChatClient"/>: a .NET program calls it as it calls
/// any other chat model. Messages go through the model's chat template; requests share one <see cref="EngineHost"/>,
/// so concurrent calls are batched by the engine; streaming yields an update per finished block.
/// <para>
/// Options map onto <see cref="GenerationOptions"/> (temperature, top-p, top-k, penalties, seed, stop sequences,
/// max output tokens; unset ones take the model's generation_config.json defaults, as <c>sdar generate</c> does).
/// SDAR knobs travel in <see cref="ChatOptions.AdditionalProperties"/> under their official names
/// (<c>block_length</c>, <c>denoising_steps</c>, <c>remasking_strategy</c>, <c>confidence_threshold</c>,
/// <c>eb_threshold</c>, <c>min_p</c>, <c>repetition_penalty</c>, <c>enable_thinking</c>). Tools are not supported
/// yet and are refused rather than ignored.
/// </para>
/// </summary>
public sealed class SdarChatClient : IChatClient
{
    private readonly LoadedModel _model;
    private readonly EngineHost _host;
    private readonly bool _ownsHost;
    private readonly ChatClientMetadata _metadata;

    /// <summary>A client over <paramref name="model"/> with an engine of its own (disposed with the client).</summary>
    public SdarChatClient(LoadedModel model, EngineOptions? engineOptions = null)
        : this(model, new EngineHost(model.CreateEngine(engineOptions)), ownsHost: true)
    {
    }

    /// <summary>A client over an engine host that others (a server) share.</summary>
    public SdarChatClient(LoadedModel model, EngineHost host) : this(model, host, ownsHost: false)
    {
    }

    private SdarChatClient(LoadedModel model, EngineHost host, bool ownsHost)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _ownsHost = ownsHost;
        _metadata = new ChatClientMetadata("sdar", defaultModelId: Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Directory)));
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var (prompt, request) = Prepare(messages, options);
        GenerationResult? result = null;
        await foreach (var chunk in (await _host.SubmitAsync(request, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false))
            result = chunk.Result ?? result;
        if (result is null) throw new InvalidOperationException("generation ended without a result");
        var message = new ChatMessage(ChatRole.Assistant, AnswerText(result));
        return new ChatResponse(message)
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = FinishReason(result),
            Usage = new UsageDetails
            {
                InputTokenCount = prompt.Length,
                OutputTokenCount = result.GeneratedTokenCount,
                TotalTokenCount = prompt.Length + result.GeneratedTokenCount,
            },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (_, request) = Prepare(messages, options);
        var decoder = _model.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        var streamed = new System.Text.StringBuilder();
        var stream = await _host.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        await foreach (var chunk in stream.ConfigureAwait(false))
        {
            var text = new System.Text.StringBuilder();
            foreach (int id in chunk.TokenIds) text.Append(decoder.Push(id));
            if (chunk.Result is { } result)
            {
                text.Append(decoder.Flush());
                // A stop string may cut inside a token: the result's text is exact, the tokens stop short of it.
                string answer = AnswerText(result), sofar = streamed.ToString() + text;
                if (answer.Length > sofar.Length && answer.StartsWith(sofar, StringComparison.Ordinal)) text.Append(answer, sofar.Length, answer.Length - sofar.Length);
                yield return new ChatResponseUpdate(ChatRole.Assistant, text.ToString())
                {
                    ModelId = _metadata.DefaultModelId,
                    FinishReason = FinishReason(result),
                };
                yield break;
            }
            if (text.Length == 0) continue;
            streamed.Append(text);
            yield return new ChatResponseUpdate(ChatRole.Assistant, text.ToString()) { ModelId = _metadata.DefaultModelId };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType == typeof(LoadedModel)) return _model;
        if (serviceType == typeof(EngineHost)) return _host;
        return null;
    }

    public void Dispose()
    {
        if (_ownsHost) _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private string AnswerText(GenerationResult result) =>
        result.Text ?? _model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);

    private static ChatFinishReason FinishReason(GenerationResult result) =>
        result.StopReason == StopReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    /// <summary>The prompt ids and the engine request for a conversation and its options.</summary>
    private (int[] Prompt, GenerationRequest Request) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.Tools is { Count: > 0 })
            throw new NotSupportedException("tool calls are not supported by SdarChatClient yet; call it without ChatOptions.Tools");
        var rendered = new List<IReadOnlyDictionary<string, object?>>();
        foreach (var message in messages)
        {
            if (message.Contents.Any(c => c is not TextContent))
                throw new NotSupportedException($"only text content is supported; a {message.Role} message holds {message.Contents.First(c => c is not TextContent).GetType().Name}");
            rendered.Add(ChatMessages.Message(message.Role.Value, message.Text));
        }
        var extra = options?.AdditionalProperties;
        bool? thinking = extra?.TryGetValue("enable_thinking", out var t) == true ? Convert.ToBoolean(t, System.Globalization.CultureInfo.InvariantCulture) : null;
        var prompt = _model.Tokenizer.Encode(_model.RenderChat(rendered, addGenerationPrompt: true, thinking)).ToArray();

        var defaults = _model.GenerationConfig;
        var generation = new GenerationOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? defaults.MaxNewTokens ?? 256,
            Temperature = options?.Temperature ?? (defaults.DoSample == false ? 0 : defaults.Temperature ?? 1.0),
            TopP = options?.TopP ?? defaults.TopP ?? 1.0,
            TopK = options?.TopK ?? defaults.TopK ?? 0,
            PresencePenalty = options?.PresencePenalty ?? 0,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0,
            Seed = options?.Seed,
            StopStrings = options?.StopSequences is { } stops ? [.. stops] : [],
            BlockLength = Extra<int?>(extra, "block_length"),
            DenoisingSteps = Extra<int?>(extra, "denoising_steps"),
            Strategy = Extra<string>(extra, "remasking_strategy") ?? GenerationOptions.DefaultStrategy,
            ConfidenceThreshold = Extra<double?>(extra, "confidence_threshold") ?? 0.9,
            EbThreshold = Extra<double?>(extra, "eb_threshold") ?? 0.35,
            MinP = Extra<double?>(extra, "min_p") ?? 0,
            RepetitionPenalty = Extra<double?>(extra, "repetition_penalty") ?? 1,
        };
        return (prompt, new GenerationRequest(prompt, generation));
    }

    private static T? Extra<T>(AdditionalPropertiesDictionary? extra, string name)
    {
        if (extra is null || !extra.TryGetValue(name, out var value) || value is null) return default;
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            return (T)Convert.ChangeType(value is System.Text.Json.JsonElement json ? json.ToString() : value, type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
        {
            throw new GenerationOptionException(name, $"a {type.Name}", Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
                $"{GenerationOptionException.OptionPlaceholder} must be a {type.Name}; got '{value}'");
        }
    }
}
