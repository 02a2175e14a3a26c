using System.Text;

namespace Sdar.Serving;

/// <summary>
/// Splits a streamed Qwen3-style answer into its thinking (a leading <c>&lt;think&gt;...&lt;/think&gt;</c>, returned as
/// <c>reasoning_content</c> the way vLLM and SGLang do) and its content, piece by piece: text that might still turn
/// out to be (part of) a tag is held back until the next piece decides it. Feeding the whole answer at once gives
/// the same split, so a streamed answer and a whole one agree.
/// </summary>
public sealed class ReasoningSplitter
{
    private const string Open = "<think>", Close = "</think>";
    private enum State { Undecided, Reasoning, AfterReasoning, Content }

    private readonly StringBuilder _pending = new();
    private State _state;
    private bool _reasoningStarted;

    /// <summary>Whether the answer began with a <c>&lt;think&gt;</c> block.</summary>
    public bool Thought { get; private set; }

    /// <summary>The reasoning and content text that <paramref name="text"/> makes final.</summary>
    public (string Reasoning, string Content) Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _pending.Append(text);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        while (true)
        {
            string pending = _pending.ToString();
            switch (_state)
            {
                case State.Undecided:
                {
                    string start = pending.TrimStart();
                    if (start.Length < Open.Length && Open.StartsWith(start, StringComparison.Ordinal)) return (reasoning.ToString(), content.ToString());
                    if (start.StartsWith(Open, StringComparison.Ordinal))
                    {
                        Thought = true;
                        _state = State.Reasoning;
                        Replace(start[Open.Length..]);
                    }
                    else _state = State.Content;
                    continue;
                }
                case State.Reasoning:
                {
                    int close = pending.IndexOf(Close, StringComparison.Ordinal);
                    if (close >= 0)
                    {
                        AppendReasoning(reasoning, pending[..close]);
                        _state = State.AfterReasoning;
                        Replace(pending[(close + Close.Length)..]);
                        continue;
                    }
                    int keep = PartialCloseLength(pending);
                    AppendReasoning(reasoning, pending[..^keep]);
                    Replace(pending[^keep..]);
                    return (reasoning.ToString(), content.ToString());
                }
                case State.AfterReasoning:
                {
                    string rest = pending.TrimStart();
                    Replace(rest);
                    if (rest.Length == 0) return (reasoning.ToString(), content.ToString());
                    _state = State.Content;
                    continue;
                }
                default:
                    content.Append(pending);
                    _pending.Clear();
                    return (reasoning.ToString(), content.ToString());
            }
        }
    }

    /// <summary>The end of the answer: whatever was held back (an unclosed thought stays reasoning).</summary>
    public (string Reasoning, string Content) Finish()
    {
        string pending = _pending.ToString();
        _pending.Clear();
        return _state switch
        {
            State.Undecided => ("", pending),
            State.Reasoning => (Leading(pending), ""),
            State.AfterReasoning => ("", ""),
            _ => ("", pending),
        };
    }

    private void AppendReasoning(StringBuilder reasoning, string text) => reasoning.Append(Leading(text));

    /// <summary>The thought's leading whitespace (the newline after the tag) is not part of it.</summary>
    private string Leading(string text)
    {
        if (_reasoningStarted) return text;
        string trimmed = text.TrimStart();
        if (trimmed.Length > 0) _reasoningStarted = true;
        return trimmed;
    }

    private void Replace(string text)
    {
        _pending.Clear();
        _pending.Append(text);
    }

    /// <summary>The longest end of <paramref name="text"/> that could be the start of the closing tag.</summary>
    private static int PartialCloseLength(string text)
    {
        for (int length = Math.Min(Close.Length - 1, text.Length); length > 0; length--)
            if (Close.StartsWith(text[^length..], StringComparison.Ordinal)) return length;
        return 0;
    }
}
