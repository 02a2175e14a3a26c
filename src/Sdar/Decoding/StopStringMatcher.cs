namespace Sdar.Decoding;

/// <summary>Where a stop string cut the answer.</summary>
/// <param name="KeepTokens">
/// How many answer tokens to keep: the longest token prefix whose decoded text is a prefix of <paramref name="Text"/>.
/// A token that straddles the stop string is dropped, so the kept tokens may decode to a little less than Text.
/// </param>
/// <param name="Text">The decoded answer cut right before the stop string (what OpenAI's <c>stop</c> returns).</param>
/// <param name="StopString">The stop string that matched (the first listed, when several start at the same place).</param>
public sealed record StopMatch(int KeepTokens, string Text, string StopString);

/// <summary>
/// Finds the earliest stop string (OpenAI <c>stop</c>) in the decoded answer. It is asked again each time more of
/// the answer becomes final (a block for diffusion, a token for AR), so a stop string may span two of those calls;
/// it only searches text that could hold a new occurrence: from where the text last searched and the new text
/// stop agreeing, less the longest stop string's length minus one. (Agreement is checked, not assumed: a byte-level
/// token that ends inside a UTF-8 character decodes to U+FFFD until the next token completes it.)
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly int _longestStop;
    private readonly Func<IReadOnlyList<int>, string> _decode;
    private string _searchedWithoutMatch = "";

    /// <param name="stops">The stop strings; none may be empty.</param>
    /// <param name="decode">The tokenizer's decoding of a token list (e.g. <c>ids => tokenizer.Decode(ids)</c>).</param>
    public StopStringMatcher(IReadOnlyList<string> stops, Func<IReadOnlyList<int>, string> decode)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _decode = decode ?? throw new ArgumentNullException(nameof(decode));
        _stops = [.. stops];
        foreach (string stop in _stops)
            if (string.IsNullOrEmpty(stop)) throw new ArgumentException("stop strings must not be empty", nameof(stops));
        _longestStop = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    /// <summary>The earliest stop string in the decoding of <paramref name="answerTokens"/>, or null when there is none yet.</summary>
    public StopMatch? Find(IReadOnlyList<int> answerTokens)
    {
        ArgumentNullException.ThrowIfNull(answerTokens);
        if (_stops.Length == 0) return null;
        string text = _decode(answerTokens);

        // Any occurrence lying wholly inside the part shared with text already searched would have been found.
        int agreed = text.AsSpan().CommonPrefixLength(_searchedWithoutMatch);
        int from = Math.Max(0, agreed - (_longestStop - 1));

        int at = -1;
        string? matched = null;
        foreach (string stop in _stops)
        {
            int limit = at < 0 ? text.Length : Math.Min(text.Length, at + stop.Length - 1);
            if (limit - from < stop.Length) continue;
            int found = text.AsSpan(from, limit - from).IndexOf(stop, StringComparison.Ordinal);
            if (found >= 0 && (at < 0 || from + found < at))
            {
                at = from + found;
                matched = stop;
            }
        }
        if (matched is null)
        {
            _searchedWithoutMatch = text;
            return null;
        }

        string kept = text[..at];
        return new StopMatch(KeepTokens(answerTokens, kept), kept, matched);
    }

    /// <summary>
    /// The longest token prefix whose text is a prefix of <paramref name="kept"/>. Walks back from the whole answer:
    /// only the few tokens at and after the stop string are decoded again.
    /// </summary>
    private int KeepTokens(IReadOnlyList<int> answerTokens, string kept)
    {
        var tokens = answerTokens as int[] ?? [.. answerTokens];
        for (int count = tokens.Length; count > 0; count--)
        {
            string prefix = _decode(new ArraySegment<int>(tokens, 0, count));
            if (kept.StartsWith(prefix, StringComparison.Ordinal)) return count;
        }
        return 0;
    }
}
