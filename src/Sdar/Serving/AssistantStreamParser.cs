namespace Sdar.Serving;

/// <summary>What one piece of a streamed assistant answer made final: thinking, content and completed tool calls.</summary>
public sealed record AssistantDelta(string Reasoning, string Content, IReadOnlyList<ToolCall> ToolCalls)
{
    public bool IsEmpty => Reasoning.Length == 0 && Content.Length == 0 && ToolCalls.Count == 0;
}

/// <summary>
/// Splits a Qwen3-style chat answer as it streams: the leading <c>&lt;think&gt;</c> block into reasoning
/// (<see cref="ReasoningSplitter"/>), then, when tools were offered, <c>&lt;tool_call&gt;</c> blocks out of the
/// content (<see cref="ToolCallExtractor"/>). The whole answer pushed at once splits the same way as any chunking
/// of it, so a server's streamed and whole answers agree.
/// </summary>
public sealed class AssistantStreamParser
{
    private readonly ReasoningSplitter _reasoning = new();
    private readonly ToolCallExtractor? _tools;
    private readonly bool _parallelCalls;
    private int _returnedCalls;

    /// <param name="parseToolCalls">Whether tools were offered; without them a <c>&lt;tool_call&gt;</c> tag is plain text.</param>
    /// <param name="idPrefix">Tool call ids are this plus the call's index.</param>
    /// <param name="parallelCalls">False: only the first well-formed call is returned (OpenAI's <c>parallel_tool_calls: false</c>).</param>
    public AssistantStreamParser(bool parseToolCalls, string idPrefix = "call_", bool parallelCalls = true)
    {
        _tools = parseToolCalls ? new ToolCallExtractor(idPrefix) : null;
        _parallelCalls = parallelCalls;
    }

    /// <summary>Whether the answer began with a <c>&lt;think&gt;</c> block.</summary>
    public bool Thought => _reasoning.Thought;

    /// <summary>Tool calls returned so far.</summary>
    public int CallCount => _returnedCalls;

    public AssistantDelta Push(string text)
    {
        var (reasoning, content) = _reasoning.Push(text);
        return Split(reasoning, content, finish: false);
    }

    /// <summary>The end of the answer: whatever was held back.</summary>
    public AssistantDelta Finish()
    {
        var (reasoning, content) = _reasoning.Finish();
        return Split(reasoning, content, finish: true);
    }

    private AssistantDelta Split(string reasoning, string content, bool finish)
    {
        if (_tools is null) return new AssistantDelta(reasoning, content, []);
        var calls = new List<ToolCall>();
        string text = _tools.Push(content, calls);
        if (finish) text += _tools.Finish();
        if (!_parallelCalls)
        {
            if (_returnedCalls > 0) calls.Clear();
            else if (calls.Count > 1) calls.RemoveRange(1, calls.Count - 1);
        }
        _returnedCalls += calls.Count;
        return new AssistantDelta(reasoning, text, calls);
    }
}
