using System.Text.Json.Nodes;
using Sdar.Decoding;
using Sdar.Serving;

namespace Sdar.Server;

/// <summary>One choice of a whole answer.</summary>
/// <param name="Text">The content (chat) or the text (completions).</param>
/// <param name="Reasoning">(Chat) the thinking split out of the answer; null when it did not think.</param>
/// <param name="ToolCalls">(Chat) the tool calls the answer made; the finish reason is then "tool_calls".</param>
/// <param name="Logprobs">The choice's logprobs object, null when not asked for.</param>
internal sealed record ChoiceOutput(string Text, string FinishReason, string? Reasoning, IReadOnlyList<ToolCall> ToolCalls, JsonNode? Logprobs = null);

/// <summary>The OpenAI response objects (chat.completion, chat.completion.chunk, text_completion), field for field.</summary>
internal sealed class ResponseJson(CompletionKind kind, string model)
{
    public CompletionKind Kind => kind;
    public string Id { get; } = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private string CompleteObject => kind == CompletionKind.Chat ? "chat.completion" : "text_completion";
    private string ChunkObject => kind == CompletionKind.Chat ? "chat.completion.chunk" : "text_completion";

    /// <summary>"tool_calls" when the answer called tools, else "stop" when a stop token or string ended it, "length" when max_tokens did.</summary>
    public static string FinishReason(GenerationResult result, bool calledTools = false) =>
        calledTools ? "tool_calls" : result.StopReason == StopReason.Length ? "length" : "stop";

    public static JsonObject Usage(int promptTokens, int completionTokens) => new()
    {
        ["prompt_tokens"] = promptTokens,
        ["completion_tokens"] = completionTokens,
        ["total_tokens"] = promptTokens + completionTokens,
    };

    /// <summary>The whole answer, a choice per entry of <paramref name="choices"/>.</summary>
    public JsonObject Complete(IReadOnlyList<ChoiceOutput> choices, JsonObject usage)
    {
        var array = new JsonArray();
        for (int i = 0; i < choices.Count; i++)
        {
            var choice = choices[i];
            array.Add(kind == CompletionKind.Chat
                ? new JsonObject
                {
                    ["index"] = i,
                    ["message"] = Message(choice),
                    ["logprobs"] = choice.Logprobs,
                    ["finish_reason"] = choice.FinishReason,
                }
                : new JsonObject
                {
                    ["index"] = i,
                    ["text"] = choice.Text,
                    ["logprobs"] = choice.Logprobs,
                    ["finish_reason"] = choice.FinishReason,
                });
        }
        return Envelope(CompleteObject, array, usage);
    }

    /// <summary>
    /// One streamed piece of choice <paramref name="index"/>: new text, the role on a chat stream's first chunk,
    /// thinking, completed tool calls (numbered from <paramref name="firstCallIndex"/> in the choice), the finish
    /// reason on its last.
    /// </summary>
    public JsonObject Chunk(int index, string text, bool withRole = false, string? finishReason = null, string reasoning = "",
        IReadOnlyList<ToolCall>? toolCalls = null, int firstCallIndex = 0, JsonNode? logprobs = null)
    {
        JsonObject choice;
        if (kind == CompletionKind.Chat)
        {
            var delta = new JsonObject();
            if (withRole) delta["role"] = "assistant";
            if (reasoning.Length > 0) delta["reasoning_content"] = reasoning;
            if (text.Length > 0 || withRole) delta["content"] = text;
            if (toolCalls is { Count: > 0 })
            {
                var calls = new JsonArray();
                for (int c = 0; c < toolCalls.Count; c++)
                {
                    var call = ToolCallJson(toolCalls[c]);
                    call.Insert(0, "index", firstCallIndex + c);
                    calls.Add(call);
                }
                delta["tool_calls"] = calls;
            }
            choice = new JsonObject { ["index"] = index, ["delta"] = delta, ["logprobs"] = logprobs, ["finish_reason"] = finishReason };
        }
        else
        {
            choice = new JsonObject { ["index"] = index, ["text"] = text, ["logprobs"] = logprobs, ["finish_reason"] = finishReason };
        }
        return Envelope(ChunkObject, [choice], usage: null);
    }

    /// <summary>
    /// A chat message; the thinking goes in <c>reasoning_content</c> (the field vLLM and SGLang use); a turn that
    /// only calls tools has null content, as OpenAI's has.
    /// </summary>
    private static JsonObject Message(ChoiceOutput choice)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = choice.ToolCalls.Count > 0 && choice.Text.Length == 0 ? null : choice.Text,
        };
        if (choice.Reasoning is not null) message["reasoning_content"] = choice.Reasoning;
        if (choice.ToolCalls.Count > 0) message["tool_calls"] = new JsonArray(choice.ToolCalls.Select(c => (JsonNode)ToolCallJson(c)).ToArray());
        return message;
    }

    /// <summary>A tool call as OpenAI writes it: the arguments are JSON text, not an object.</summary>
    private static JsonObject ToolCallJson(ToolCall call) => new()
    {
        ["id"] = call.Id,
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.ArgumentsJson },
    };

    /// <summary>The usage chunk of <c>stream_options.include_usage</c>: no choices.</summary>
    public JsonObject UsageChunk(JsonObject usage) => Envelope(ChunkObject, [], usage);

    private JsonObject Envelope(string objectName, JsonArray choices, JsonObject? usage)
    {
        var json = new JsonObject
        {
            ["id"] = Id,
            ["object"] = objectName,
            ["created"] = Created,
            ["model"] = model,
            ["system_fingerprint"] = null,
            ["choices"] = choices,
        };
        if (usage is not null) json["usage"] = usage;
        return json;
    }
}
