using System.Text.Json;

namespace Sdar.Serving;

/// <summary>A tool call the model wrote: the function's name and its arguments as a JSON object text.</summary>
public sealed record ToolCall(string Id, string Name, string ArgumentsJson);

/// <summary>An assistant turn split the way OpenAI-style APIs return it.</summary>
/// <param name="Reasoning">What the model thought inside <c>&lt;think&gt;...&lt;/think&gt;</c> (vLLM's and SGLang's <c>reasoning_content</c>); null when it did not think.</param>
/// <param name="Content">The answer text, with the reasoning and the well-formed tool calls taken out.</param>
/// <param name="ToolCalls">Well-formed <c>&lt;tool_call&gt;</c> blocks, in order.</param>
public sealed record AssistantOutput(string? Reasoning, string Content, IReadOnlyList<ToolCall> ToolCalls)
{
    private const string ThinkOpen = "<think>", ThinkClose = "</think>";

    /// <summary>
    /// Splits Qwen3-style output: an optional leading <c>&lt;think&gt;</c> block (its close may come without the open,
    /// when the chat template already opened it), then text with <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>
    /// blocks. A tool call that is not valid JSON with a string <c>name</c> and an object (or JSON-text) <c>arguments</c>
    /// stays in the content as text: a model's mistake is the caller's to see, never an error.
    /// </summary>
    /// <param name="idPrefix">Tool call ids are this plus the call's index (deterministic, so tests and replays agree).</param>
    public static AssistantOutput Parse(string text, string idPrefix = "call_")
    {
        ArgumentNullException.ThrowIfNull(text);
        string? reasoning = null;
        string rest = text;
        int close = text.IndexOf(ThinkClose, StringComparison.Ordinal);
        string trimmedStart = text.TrimStart();
        if (close >= 0 && (trimmedStart.StartsWith(ThinkOpen, StringComparison.Ordinal) || !text[..close].Contains(ThinkOpen, StringComparison.Ordinal)))
        {
            string inside = text[..close];
            int open = inside.IndexOf(ThinkOpen, StringComparison.Ordinal);
            if (open >= 0) inside = inside[(open + ThinkOpen.Length)..];
            reasoning = inside.Trim();
            rest = text[(close + ThinkClose.Length)..];
        }
        else if (trimmedStart.StartsWith(ThinkOpen, StringComparison.Ordinal))
        {
            // Thinking that never closed (the answer ran out of tokens): all of it is reasoning.
            return new AssistantOutput(trimmedStart[ThinkOpen.Length..].Trim(), "", []);
        }

        var calls = new List<ToolCall>();
        var extractor = new ToolCallExtractor(idPrefix);
        string content = extractor.Push(rest, calls) + extractor.Finish();
        return new AssistantOutput(reasoning, content.Trim(), calls);
    }
}
