using System.Buffers;
using System.Text;

namespace Sdar.Tokenization;

/// <summary>A token of tokenizer.json's <c>added_tokens</c>: matched whole in the text, never split by BPE.</summary>
/// <param name="Special">Marked <c>special</c>: dropped when decoding with skipSpecialTokens.</param>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>An added token with HuggingFace's matching options.</summary>
/// <param name="Normalized">Matched in the normalised text (after NFC) instead of the raw text.</param>
/// <param name="LStrip">The match swallows the whitespace before it.</param>
/// <param name="RStrip">The match swallows the whitespace after it.</param>
/// <param name="SingleWord">Matched only when no word character touches it on either side.</param>
internal sealed record AddedTokenRule(AddedToken Token, bool Normalized, bool LStrip, bool RStrip, bool SingleWord);

/// <summary>One piece of the input: an added token's id, or a stretch of ordinary text (<see cref="TokenId"/> -1).</summary>
internal readonly record struct TextPiece(int Start, int Length, int TokenId)
{
    public bool IsAddedToken => TokenId >= 0;
}

/// <summary>
/// Finds added tokens in text the way HuggingFace's AddedVocabulary does (an Aho-Corasick automaton with
/// leftmost-longest matching): exact, case-sensitive, and at each leftmost position the longest token wins.
/// </summary>
internal sealed class AddedTokenMatcher
{
    // Candidates by first character, longest first, so the first one that matches is the leftmost-longest.
    private readonly Dictionary<char, AddedTokenRule[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedTokenRule> rules)
    {
        _byFirstChar = rules
            .Where(r => r.Token.Content.Length > 0)
            .GroupBy(r => r.Token.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(r => r.Token.Content.Length).ToArray());
        _firstChars = SearchValues.Create([.. _byFirstChar.Keys]);
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Cuts <paramref name="text"/> into added tokens and the ordinary text between them (never empty).</summary>
    public void Split(string text, List<TextPiece> output)
    {
        int pieceStart = 0; // end of the last emitted piece
        int searchFrom = 0;
        while (searchFrom < text.Length)
        {
            int found = IsEmpty ? -1 : text.AsSpan(searchFrom).IndexOfAny(_firstChars);
            if (found < 0)
                break;
            int at = searchFrom + found;
            AddedTokenRule? rule = LongestAt(text, at);
            if (rule is null)
            {
                searchFrom = at + 1;
                continue;
            }

            int start = at, stop = at + rule.Token.Content.Length;
            searchFrom = stop;
            if (rule.SingleWord && (EndsWithWordChar(text.AsSpan(0, start)) || StartsWithWordChar(text.AsSpan(stop))))
                continue; // not a word on its own: HuggingFace drops the match and searches on after it
            if (rule.LStrip)
                start = Math.Max(pieceStart, start - TrailingWhitespace(text.AsSpan(0, start)));
            if (rule.RStrip)
                stop += LeadingWhitespace(text.AsSpan(stop));

            if (start > pieceStart)
                output.Add(new TextPiece(pieceStart, start - pieceStart, -1));
            output.Add(new TextPiece(start, stop - start, rule.Token.Id));
            pieceStart = searchFrom = stop;
        }
        if (pieceStart < text.Length)
            output.Add(new TextPiece(pieceStart, text.Length - pieceStart, -1));
    }

    private AddedTokenRule? LongestAt(string text, int at)
    {
        ReadOnlySpan<char> rest = text.AsSpan(at);
        foreach (AddedTokenRule rule in _byFirstChar[text[at]])
            if (rest.StartsWith(rule.Token.Content, StringComparison.Ordinal))
                return rule;
        return null;
    }

    private static int TrailingWhitespace(ReadOnlySpan<char> s)
    {
        int n = 0;
        while (n < s.Length && char.IsWhiteSpace(s[s.Length - 1 - n]))
            n++;
        return n;
    }

    private static int LeadingWhitespace(ReadOnlySpan<char> s)
    {
        int n = 0;
        while (n < s.Length && char.IsWhiteSpace(s[n]))
            n++;
        return n;
    }

    // Rust's char::is_alphanumeric() || '_', as HuggingFace tests word boundaries.
    private static bool IsWordRune(Rune r) => Rune.IsLetterOrDigit(r) || Rune.IsNumber(r) || r.Value == '_';

    private static bool EndsWithWordChar(ReadOnlySpan<char> s) =>
        !s.IsEmpty && Rune.DecodeLastFromUtf16(s, out Rune r, out _) == OperationStatus.Done && IsWordRune(r);

    private static bool StartsWithWordChar(ReadOnlySpan<char> s) =>
        !s.IsEmpty && Rune.DecodeFromUtf16(s, out Rune r, out _) == OperationStatus.Done && IsWordRune(r);
}
