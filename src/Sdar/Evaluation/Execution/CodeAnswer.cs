namespace Sdar.Evaluation.Execution;

/// <summary>
/// The program text of a completion. A chat model tends to answer with a fenced Markdown block, or MBPP's
/// <c>[BEGIN] ... [DONE]</c> of its few-shot prompt; the code is what is inside. A bare completion (the official sample
/// files, or a raw continuation of a HumanEval prompt) is taken as it is: a fence there would be a syntax error anyway.
/// </summary>
public static class CodeAnswer
{
    private const string Fence = "```";

    public static string Extract(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        int begin = completion.IndexOf("[BEGIN]", StringComparison.Ordinal);
        if (begin >= 0)
        {
            int start = begin + "[BEGIN]".Length;
            int end = completion.IndexOf("[DONE]", start, StringComparison.Ordinal);
            return Extract(end < 0 ? completion[start..] : completion[start..end]);
        }
        int open = completion.IndexOf(Fence, StringComparison.Ordinal);
        if (open < 0) return completion;
        // The info string ("python", "py", nothing) runs to the end of the fence's line.
        int lineEnd = completion.IndexOf('\n', open);
        if (lineEnd < 0) return "";
        int close = completion.IndexOf(Fence, lineEnd + 1, StringComparison.Ordinal);
        return close < 0 ? completion[(lineEnd + 1)..] : completion[(lineEnd + 1)..close];
    }
}
