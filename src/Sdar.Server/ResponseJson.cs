using System.Text.Json.Nodes;
using Sdar.Decoding;

namespace Sdar.Server;

/// <summary>The OpenAI response objects (chat.completion, chat.completion.chunk, text_completion), field for field.</summary>
internal sealed class ResponseJson(CompletionKind kind, string model)
{
    public CompletionKind Kind => kind;
    public string Id { get; } = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private string CompleteObject => kind == CompletionKind.Chat ? "chat.completion" : "text_completion";
    private string ChunkObject => kind == CompletionKind.Chat ? "chat.completion.chunk" : "text_completion";

    /// <summary>"stop" when a stop token or string ended the answer, "length" when max_tokens did.</summary>
    public static string FinishReason(GenerationResult result) => result.StopReason == StopReason.Length ? "length" : "stop";

    public static JsonObject Usage(int promptTokens, int completionTokens) => new()
    {
        ["prompt_tokens"] = promptTokens,
        ["completion_tokens"] = completionTokens,
        ["total_tokens"] = promptTokens + completionTokens,
    };

    /// <summary>The whole answer: one choice per (index, text, finish reason).</summary>
    /// <param name="choices">Per choice: its text, finish reason, and (chat) the thinking split out of it, null when it did not think.</param>
    public JsonObject Complete(IReadOnlyList<(string Text, string FinishReason, string? Reasoning)> choices, JsonObject usage)
    {
        var array = new JsonArray();
        for (int i = 0; i < choices.Count; i++)
            array.Add(kind == CompletionKind.Chat
                ? new JsonObject
                {
                    ["index"] = i,
                    ["message"] = Message(choices[i].Text, choices[i].Reasoning),
                    ["logprobs"] = null,
                    ["finish_reason"] = choices[i].FinishReason,
                }
                : new JsonObject
                {
                    ["index"] = i,
                    ["text"] = choices[i].Text,
                    ["logprobs"] = null,
                    ["finish_reason"] = choices[i].FinishReason,
                });
        return Envelope(CompleteObject, array, usage);
    }

    /// <summary>
    /// One streamed piece of choice <paramref name="index"/>: new text, the role on a chat stream's first chunk,
    /// the finish reason on its last.
    /// </summary>
    public JsonObject Chunk(int index, string text, bool withRole = false, string? finishReason = null, string reasoning = "")
    {
        JsonObject choice;
        if (kind == CompletionKind.Chat)
        {
            var delta = new JsonObject();
            if (withRole) delta["role"] = "assistant";
            if (reasoning.Length > 0) delta["reasoning_content"] = reasoning;
            if (text.Length > 0 || withRole) delta["content"] = text;
            choice = new JsonObject { ["index"] = index, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason };
        }
        else
        {
            choice = new JsonObject { ["index"] = index, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = finishReason };
        }
        return Envelope(ChunkObject, [choice], usage: null);
    }

    /// <summary>A chat message; the thinking goes in <c>reasoning_content</c> (the field vLLM and SGLang use).</summary>
    private static JsonObject Message(string content, string? reasoning)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
        if (reasoning is not null) message["reasoning_content"] = reasoning;
        return message;
    }

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
