using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Sdar.Tokenization;

/// <summary>One regex split of the chain and where it was defined ("'…/tokenizer.json' field 'pre_tokenizer.pattern.Regex'").</summary>
internal sealed record SplitStep(Regex Regex, string Origin);

/// <summary>
/// HuggingFace's pre-tokenizer chain for byte-level BPE: a sequence of regex splits with the "Isolated"
/// behaviour (every match is a piece, and so is every stretch between matches), each applied to the pieces of
/// the one before. Handed to ML.Tokenizers' BPE, which encodes each piece as one word.
/// </summary>
/// <remarks>
/// HuggingFace runs these regexes (Oniguruma) over code points, .NET over UTF-16 units, where an astral
/// character is two surrogates of category Cs. So <c>\p{L}</c> would miss the letter U+1D400, and
/// <c>[^\r\n\p{L}\p{N}]?\p{L}+</c> would refuse to take the emoji in "🍕abc" as its one leading character.
/// Pieces that contain surrogate pairs are therefore matched on a stand-in text with one character per code
/// point: each astral code point is replaced by a BMP character of the same Unicode category.
/// </remarks>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly SplitStep[] _steps;

    public SplitPreTokenizer(IReadOnlyList<SplitStep> steps) => _steps = [.. steps];

    public SplitPreTokenizer(IReadOnlyList<Regex> steps) : this(steps.Select(r => new SplitStep(r, "a pre-tokenizer pattern")).ToList()) { }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        if (!text.IsEmpty)
            pieces.Add((0, text.Length));
        foreach (SplitStep step in _steps)
        {
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            try
            {
                foreach ((int offset, int length) in pieces)
                    SplitIsolated(step.Regex, text.Slice(offset, length), offset, next);
            }
            catch (RegexMatchTimeoutException e)
            {
                throw new TokenizerException(
                    $"{step.Origin} took longer than {e.MatchTimeout.TotalSeconds:0.#} s on one piece of text (catastrophic backtracking?); "
                    + $"the pattern is {Truncate(e.Pattern)}", e);
            }
            pieces = next;
        }
        return pieces;
    }

    private static string Truncate(string pattern) => pattern.Length > 200 ? pattern[..200] + "..." : pattern;

    /// <summary>Appends the matches of <paramref name="regex"/> in <paramref name="piece"/> and the gaps between them.</summary>
    internal static void SplitIsolated(Regex regex, ReadOnlySpan<char> piece, int baseOffset, List<(int, int)> output)
    {
        if (piece.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            SplitIsolatedByCodePoint(regex, piece, baseOffset, output);
            return;
        }

        int previousEnd = 0;
        foreach (ValueMatch m in regex.EnumerateMatches(piece))
        {
            if (m.Length == 0)
                continue;
            if (m.Index > previousEnd)
                output.Add((baseOffset + previousEnd, m.Index - previousEnd));
            output.Add((baseOffset + m.Index, m.Length));
            previousEnd = m.Index + m.Length;
        }
        if (previousEnd < piece.Length)
            output.Add((baseOffset + previousEnd, piece.Length - previousEnd));
    }

    private static void SplitIsolatedByCodePoint(Regex regex, ReadOnlySpan<char> piece, int baseOffset, List<(int, int)> output)
    {
        // standIn[k] is the k-th code point (astral ones replaced); start[k] is where it begins in the piece.
        var standIn = new char[piece.Length];
        var start = new int[piece.Length + 1];
        int n = 0;
        for (int i = 0; i < piece.Length; n++)
        {
            start[n] = i;
            if (char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]))
            {
                standIn[n] = StandInFor(char.ConvertToUtf32(piece[i], piece[i + 1]));
                i += 2;
            }
            else
            {
                standIn[n] = piece[i];
                i += 1;
            }
        }
        start[n] = piece.Length;

        var mapped = new List<(int Offset, int Length)>();
        SplitIsolated(regex, standIn.AsSpan(0, n), 0, mapped);
        foreach ((int offset, int length) in mapped)
            output.Add((baseOffset + start[offset], start[offset + length] - start[offset]));
    }

    /// <summary>A BMP character of the same general category, caseless with respect to ASCII.</summary>
    private static char StandInFor(int codePoint) => CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
    {
        UnicodeCategory.UppercaseLetter => '\u0100',
        UnicodeCategory.LowercaseLetter => '\u0101',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u16EE',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.SpaceSeparator => '\u3000',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A1',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u00B4',
        UnicodeCategory.OtherSymbol => '\u00A6',
        _ => '\u0378', // unassigned (OtherNotAssigned)
    };
}
