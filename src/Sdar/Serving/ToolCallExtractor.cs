using System.Text;
using System.Text.Json;

namespace Sdar.Serving;

/// <summary>
/// Takes Qwen3-style <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c> blocks out of an answer's
/// content as it streams: text is passed on as soon as it cannot be the start of a call, a call is returned once
/// its closing tag arrives. A block that is not valid JSON with a string <c>name</c> and an object (or JSON-text)
/// <c>arguments</c>, or that never closes, is passed on as text: a model's mistake is the caller's to see, never
/// an error. Whitespace around a well-formed call (the newline before the tag) is not content, except that text
/// after a call is joined to the text before it by the whitespace that preceded the call.
/// Feeding the whole content at once gives the same text and calls, so a streamed answer and a whole one agree.
/// </summary>
public sealed class ToolCallExtractor(string idPrefix = "call_")
{
    private const string Open = "<tool_call>", Close = "</tool_call>";

    private readonly StringBuilder _pending = new();
    private bool _inCall;
    private bool _afterCall;               // whitespace right after a well-formed call is dropped...
    private string _separator = "";        // ...and text after it is joined to the text before by the whitespace before it
    private string _heldWhitespace = "";   // the whitespace before the open tag
    private bool _emitted;

    /// <summary>Well-formed calls found so far, in order; ids are the prefix plus the call's index.</summary>
    public int CallCount { get; private set; }

    /// <summary>The text that <paramref name="text"/> makes final; calls it completes are added to <paramref name="calls"/>.</summary>
    public string Push(string text, List<ToolCall> calls)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(calls);
        _pending.Append(text);
        var output = new StringBuilder();
        while (true)
        {
            string pending = _pending.ToString();
            if (_inCall)
            {
                int close = pending.IndexOf(Close, StringComparison.Ordinal);
                if (close < 0) return output.ToString();
                string body = pending[..close];
                if (TryParse(body, $"{idPrefix}{CallCount}") is { } call)
                {
                    calls.Add(call);
                    CallCount++;
                    if (!_afterCall) _separator = _emitted ? _heldWhitespace : "";
                    _afterCall = true;
                }
                else
                {
                    Emit(output, _heldWhitespace + Open + body + Close);
                }
                _heldWhitespace = "";
                _inCall = false;
                Replace(pending[(close + Close.Length)..]);
                continue;
            }

            int open = pending.IndexOf(Open, StringComparison.Ordinal);
            if (open >= 0)
            {
                string before = pending[..open];
                string trimmed = before.TrimEnd();
                Emit(output, trimmed);
                _heldWhitespace = _afterCall ? "" : before[trimmed.Length..];
                _inCall = true;
                Replace(pending[(open + Open.Length)..]);
                continue;
            }
            // No call starts here: hold back what could still begin one (a partial tag and the whitespace before it).
            int keep = PartialOpenLength(pending);
            while (keep < pending.Length && char.IsWhiteSpace(pending[pending.Length - keep - 1])) keep++;
            Emit(output, pending[..^keep]);
            Replace(pending[^keep..]);
            return output.ToString();
        }
    }

    /// <summary>The end of the content: whatever was held back, an unclosed call as the text it is.</summary>
    public string Finish()
    {
        var output = new StringBuilder();
        string pending = _pending.ToString();
        _pending.Clear();
        if (_inCall) Emit(output, _heldWhitespace + Open + pending);
        else Emit(output, pending);
        _inCall = false;
        _heldWhitespace = "";
        return output.ToString();
    }

    private void Emit(StringBuilder output, string text)
    {
        if (_afterCall)
        {
            text = text.TrimStart();
            if (text.Length == 0) return;
            text = _separator + text;
            _afterCall = false;
        }
        if (text.Length == 0) return;
        _emitted = true;
        output.Append(text);
    }

    private void Replace(string text)
    {
        _pending.Clear();
        _pending.Append(text);
    }

    /// <summary>The longest end of <paramref name="text"/> that could be the start of the open tag.</summary>
    private static int PartialOpenLength(string text)
    {
        for (int length = Math.Min(Open.Length - 1, text.Length); length > 0; length--)
            if (Open.StartsWith(text[^length..], StringComparison.Ordinal)) return length;
        return 0;
    }

    /// <summary>A call's JSON body, or null when it is not one (not JSON, no string name, arguments not an object).</summary>
    internal static ToolCall? TryParse(string body, string id)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || string.IsNullOrWhiteSpace(name.GetString()))
                return null;
            string arguments = "{}";
            if (root.TryGetProperty("arguments", out var args))
            {
                if (args.ValueKind == JsonValueKind.Object) arguments = args.GetRawText();
                else if (args.ValueKind == JsonValueKind.String)
                {
                    // Some models write the arguments as a JSON string; it must hold an object too.
                    using var inner = JsonDocument.Parse(args.GetString()!);
                    if (inner.RootElement.ValueKind != JsonValueKind.Object) return null;
                    arguments = inner.RootElement.GetRawText();
                }
                else return null;
            }
            return new ToolCall(id, name.GetString()!, arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
