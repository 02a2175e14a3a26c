using System.Text.RegularExpressions;

namespace Sdar.Evaluation;

/// <summary>
/// The letter a model chose in a multiple-choice answer. In order: the last "answer is (C)" / "Answer: C" /
/// "answer is **C**"; else a completion that is only a letter ("C", "(C)", "C.", "**C**") or starts with one
/// followed by '.', ')' or ':' ("C. 42"); else the last bold letter ("**C**"). A capital letter that starts a word
/// ("Because", "A cat") is never taken, and a letter beyond the number of choices is no answer.
/// </summary>
public static partial class ChoiceAnswer
{
    [GeneratedRegex(@"answer\s*(?:is|:)\s*:?\s*(?:option\s*)?\**\s*\(?([A-Z])\)?(?![A-Za-z0-9])", RegexOptions.IgnoreCase)]
    private static partial Regex Stated();

    [GeneratedRegex(@"^\s*\**\s*\(?([A-Z])\)?\s*\**\s*(?:[.):]|$)")]
    private static partial Regex Leading();

    [GeneratedRegex(@"\*\*\s*\(?([A-Z])\)?[.:]?\s*\*\*")]
    private static partial Regex Bold();

    public static string Letter(int choice) => ((char)('A' + choice)).ToString();

    /// <summary>The chosen letter among the first <paramref name="choiceCount"/> ("A".."D" for 4), or null.</summary>
    public static string? Extract(string completion, int choiceCount)
    {
        // The letter group must be an upper-case letter even though "answer" matches in any case: "the answer is a
        // matter of..." names no choice.
        foreach (var match in Stated().Matches(completion).Reverse())
        {
            char letter = match.Groups[1].Value[0];
            if (letter is >= 'A' and <= 'Z') return InRange(letter, choiceCount);
        }
        if (Leading().Match(completion) is { Success: true } lead) return InRange(lead.Groups[1].Value[0], choiceCount);
        var bold = Bold().Matches(completion);
        return bold.Count > 0 ? InRange(bold[^1].Groups[1].Value[0], choiceCount) : null;
    }

    private static string? InRange(char letter, int choiceCount) => letter - 'A' < choiceCount ? letter.ToString() : null;
}
