using System.Text.RegularExpressions;

namespace Sdar.Evaluation.IfEval;

/// <summary>keywords:existence: every keyword occurs (re.search, ignoring case; the keyword is a pattern).</summary>
internal sealed class KeywordExistence(IReadOnlyList<string> keywords, string where) : IInstructionChecker
{
    private readonly Regex[] _patterns = [.. keywords.Select(k => PythonText.Pattern(k, RegexOptions.IgnoreCase, where))];

    public bool IsFollowed(string response) => _patterns.All(p => p.IsMatch(response));
}

/// <summary>keywords:frequency: the keyword's non-overlapping matches (re.findall, ignoring case) against a threshold.</summary>
internal sealed class KeywordFrequency(string keyword, int frequency, Relation relation, string where) : IInstructionChecker
{
    private readonly Regex _pattern = PythonText.Pattern(keyword.Trim(), RegexOptions.IgnoreCase, where);

    public bool IsFollowed(string response) => relation.Holds(_pattern.Count(response), frequency);
}

/// <summary>keywords:forbidden_words: no forbidden word as a whole word (\b word \b, ignoring case).</summary>
internal sealed class ForbiddenWords(IReadOnlyList<string> words, string where) : IInstructionChecker
{
    private readonly Regex[] _patterns = [.. words.Distinct().Select(w => PythonText.Pattern(@"\b" + w + @"\b", RegexOptions.IgnoreCase, where))];

    public bool IsFollowed(string response) => !_patterns.Any(p => p.IsMatch(response));
}

/// <summary>keywords:letter_frequency: how often one character occurs in the lower-cased response.</summary>
internal sealed class LetterFrequency(char letter, int frequency, Relation relation) : IInstructionChecker
{
    public bool IsFollowed(string response) => relation.Holds(response.ToLowerInvariant().Count(c => c == letter), frequency);

    public static LetterFrequency Create(InstructionArguments args)
    {
        // The official check is on the raw argument: one character, else a random letter.
        string letter = args.OptionalString("letter") is { Length: 1 } one ? one.Trim() : throw args.Missing("letter", "a single character");
        if (letter.Length == 0) throw args.Missing("letter", "a single non-space character");
        return new LetterFrequency(char.ToLowerInvariant(letter[0]), args.Count("let_frequency"), args.Relation("let_relation"));
    }
}
