using System.Text.RegularExpressions;

namespace Sdar.Evaluation.IfEval;

/// <summary>length_constraints:number_sentences: sentences as Punkt counts them (approximated, see <see cref="Sentences"/>).</summary>
internal sealed class NumberOfSentences(int threshold, Relation relation) : IInstructionChecker
{
    public bool IsFollowed(string response) => relation.Holds(Sentences.Count(response), threshold);
}

/// <summary>length_constraints:number_words: nltk's RegexpTokenizer(r"\w+") tokens.</summary>
internal sealed partial class NumberOfWords(int threshold, Relation relation) : IInstructionChecker
{
    [GeneratedRegex(@"\w+")]
    internal static partial Regex Word();

    public bool IsFollowed(string response) => relation.Holds(Word().Count(response), threshold);
}

/// <summary>
/// length_constraints:number_paragraphs: exactly N paragraphs separated by "***" (re.split on \s?\*\*\*\s?); an empty
/// paragraph is allowed only first or last, anywhere else it fails the instruction.
/// </summary>
internal sealed partial class ParagraphCount(int paragraphs) : IInstructionChecker
{
    [GeneratedRegex(@"\s?\*\*\*\s?")]
    private static partial Regex Divider();

    public bool IsFollowed(string response)
    {
        string[] parts = Divider().Split(response);
        int count = parts.Length;
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Trim().Length != 0) continue;
            if (i == 0 || i == parts.Length - 1) count--;
            else return false;
        }
        return count == paragraphs;
    }
}

/// <summary>
/// length_constraints:nth_paragraph_first_word: N paragraphs separated by "\n\n" (empty ones not counted) and the
/// nth one's first word, quotes stripped and cut at the first punctuation, lower-cased, equals the given word.
/// </summary>
internal sealed class NthParagraphFirstWord(int paragraphs, int nth, string firstWord) : IInstructionChecker
{
    private static readonly System.Buffers.SearchValues<char> Punctuation = System.Buffers.SearchValues.Create(".,?!'\"");

    public bool IsFollowed(string response)
    {
        string[] parts = response.Split("\n\n");
        int count = parts.Count(p => p.Trim().Length != 0);
        // As the reference: the nth split piece (empty ones included) is looked at, bounded by the non-empty count.
        if (nth > count) return false;
        string paragraph = parts[nth - 1].Trim();
        if (paragraph.Length == 0) return false;
        string word = PythonText.SplitWhitespace(paragraph)[0].Trim().TrimStart('\'').TrimStart('"');
        int cut = word.AsSpan().IndexOfAny(Punctuation);
        string first = (cut < 0 ? word : word[..cut]).ToLowerInvariant();
        return count == paragraphs && first == firstWord;
    }

    public static NthParagraphFirstWord Create(InstructionArguments args)
    {
        int paragraphs = args.Count("num_paragraphs");
        int nth = args.OptionalInteger("nth_paragraph") is { } n && n > 0 && n <= paragraphs ? n : throw args.Missing("nth_paragraph", $"a paragraph number from 1 to num_paragraphs ({paragraphs})");
        string word = args.OptionalString("first_word") ?? throw args.Missing("first_word", "a string");
        return new NthParagraphFirstWord(paragraphs, nth, word.ToLowerInvariant());
    }
}
