using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sdar.Decoding;
using Sdar.Runtime;

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
/// <c>eb_threshold</c>, <c>min_p</c>, <c>repetition_penalty</c>, <c>enable_thinking</c>).
/// </para>
/// <para>
/// Tools (<see cref="ChatOptions.Tools"/>) go through the chat template (Qwen3's renders them); the model's
/// <c>&lt;tool_call&gt;</c> blocks come back as <see cref="FunctionCallContent"/> with finish reason
/// <see cref="ChatFinishReason.ToolCalls"/>, and its <c>&lt;think&gt;</c> block as <see cref="TextReasoningContent"/>
/// (<see cref="AssistantOutput"/>). Function calls and results in the history are rendered back for the next turn.
/// With tools, a streaming call yields the whole turn at the end, since a tool call is only known once closed.
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
        var (contents, hasCalls) = Contents(AnswerText(result));
        var message = new ChatMessage(ChatRole.Assistant, contents);
        return new ChatResponse(message)
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = hasCalls ? ChatFinishReason.ToolCalls : FinishReason(result),
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
        if (options?.Tools is { Count: > 0 })
        {
            var whole = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            foreach (var update in whole.ToChatResponseUpdates()) yield return update;
            yield break;
        }
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
                text.Append(result.TextBeyond(streamed.ToString() + text));
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
        var rendered = messages.Select(TemplateMessage).ToList();
        List<object?>? tools = null;
        foreach (var tool in options?.Tools ?? [])
        {
            if (tool is not AIFunctionDeclaration function)
                throw new NotSupportedException($"tool '{tool.Name}' is a {tool.GetType().Name}; only functions can be offered to a local model");
            (tools ??= []).Add(new Dictionary<string, object?>
            {
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?>
                {
                    ["name"] = function.Name,
                    ["description"] = function.Description,
                    ["parameters"] = function.JsonSchema,
                },
            });
        }
        var extra = options?.AdditionalProperties;
        bool? thinking = extra?.TryGetValue("enable_thinking", out var t) == true ? Convert.ToBoolean(t, System.Globalization.CultureInfo.InvariantCulture) : null;
        string text = _model.RenderChat(rendered, addGenerationPrompt: true, thinking, tools);
        if (tools is not null && text == _model.RenderChat(rendered, addGenerationPrompt: true, thinking))
            throw new NotSupportedException("the model's chat template does not render tools, so the model would never see them; call it without ChatOptions.Tools");
        var prompt = _model.Tokenizer.Encode(text).ToArray();

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

    /// <summary>A message as chat templates take it (transformers' format): text, tool calls, tool results.</summary>
    private static IReadOnlyDictionary<string, object?> TemplateMessage(ChatMessage message)
    {
        var calls = new List<object?>();
        var text = new System.Text.StringBuilder();
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent t:
                    text.Append(t.Text);
                    break;
                case TextReasoningContent:
                    break;   // earlier thinking is not fed back (Qwen3's template drops it too)
                case FunctionCallContent call:
                    calls.Add(new Dictionary<string, object?>
                    {
                        ["type"] = "function",
                        ["id"] = call.CallId,
                        ["function"] = new Dictionary<string, object?>
                        {
                            ["name"] = call.Name,
                            ["arguments"] = JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>()),
                        },
                    });
                    break;
                case FunctionResultContent result:
                    text.Append(result.Result is string s ? s : JsonSerializer.Serialize(result.Result));
                    break;
                default:
                    throw new NotSupportedException($"a {message.Role} message holds {content.GetType().Name}; only text, function calls and function results are supported");
            }
        }
        var rendered = new Dictionary<string, object?> { ["role"] = message.Role.Value, ["content"] = text.ToString() };
        if (calls.Count > 0) rendered["tool_calls"] = calls;
        return rendered;
    }

    /// <summary>The answer's contents: reasoning, text and tool calls when the model wrote those tags, else its text.</summary>
    private static (List<AIContent> Contents, bool HasCalls) Contents(string answer)
    {
        if (!answer.Contains("</think>", StringComparison.Ordinal) && !answer.Contains("<think>", StringComparison.Ordinal)
            && !answer.Contains("<tool_call>", StringComparison.Ordinal))
            return ([new TextContent(answer)], false);
        var output = AssistantOutput.Parse(answer);
        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(output.Reasoning)) contents.Add(new TextReasoningContent(output.Reasoning));
        if (output.Content.Length > 0) contents.Add(new TextContent(output.Content));
        foreach (var call in output.ToolCalls)
            contents.Add(new FunctionCallContent(call.Id, call.Name,
                JsonSerializer.Deserialize<Dictionary<string, object?>>(call.ArgumentsJson)));
        return (contents, output.ToolCalls.Count > 0);
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
