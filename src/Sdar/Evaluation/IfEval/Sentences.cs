namespace Sdar.Evaluation.IfEval;

/// <summary>
/// Sentence counting as nltk's English Punkt model does it, approximated without its trained parameters (IFEval's
/// count_sentences loads the pickled model). Punkt ends a sentence at '.', '?' or '!' followed by white space and
/// more text, except after an abbreviation it knows ("Dr.", "e.g."), after an initial ("J. Smith"), after an
/// ellipsis or a number followed by a lower-case word ("3. items" goes on); text at the very end is the last
/// sentence whether or not it ends in a period. The differences from the real model are in the abbreviations it
/// learned (a fixed list here) and its orthographic statistics (here: an upper-case next word starts a sentence).
/// </summary>
internal static class Sentences
{
    // The common abbreviations of Punkt's English model (lower case, without the final period).
    private static readonly HashSet<string> Abbreviations =
    [
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "co", "corp", "inc", "ltd", "vs", "etc", "e.g", "i.e", "u.s",
        "u.k", "a.m", "p.m", "no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "gen", "gov", "sen", "rep", "rev", "col", "lt", "capt", "sgt", "mt", "ft", "ave", "blvd", "dept", "univ", "approx",
        "fig", "vol", "ed", "est", "cf", "al", "ph.d", "u.n", "d.c", "n.y", "calif", "mass", "conn", "fla", "ill", "pa", "va",
    ];

    private const string Closers = "\"')]}\u201d\u2019";

    public static int Count(string text)
    {
        string[] tokens = PythonText.SplitWhitespace(text);
        if (tokens.Length == 0) return 0;
        int sentences = 1;
        for (int i = 0; i < tokens.Length - 1; i++)
            if (EndsSentence(tokens[i], tokens[i + 1])) sentences++;
        return sentences;
    }

    private static bool EndsSentence(string token, string next)
    {
        string core = token.TrimEnd(Closers.ToCharArray());
        if (core.Length == 0) return false;
        char last = core[^1];
        if (last is '?' or '!') return true;
        if (last != '.') return false;
        bool nextUpper = FirstLetter(next) is { } c && char.IsUpper(c);
        if (core.EndsWith("..", StringComparison.Ordinal) || core.EndsWith('\u2026')) return nextUpper;
        string word = core.TrimEnd('.').TrimStart(Closers.ToCharArray()).TrimStart('(', '[', '"', '\'', '\u201c', '\u2018');
        if (word.Length == 0) return true;
        string lower = word.ToLowerInvariant();
        if (Abbreviations.Contains(lower) || Abbreviations.Contains(lower[(lower.LastIndexOf('-') + 1)..])) return false;
        if (word.Length == 1 && char.IsLetter(word[0])) return false;
        if (word.All(ch => char.IsDigit(ch) || ch is ',' or '.')) return FirstLetter(next) is not { } n || !char.IsLower(n);
        return true;
    }

    private static char? FirstLetter(string token)
    {
        foreach (char c in token)
            if (char.IsLetterOrDigit(c)) return c;
        return null;
    }
}

/// <summary>
/// Word tokens as nltk's word_tokenize (Treebank) gives them, approximated: white space and punctuation other than
/// '-', '.', '\'' separate words (so "WELL-KNOWN" and "U.S." stay one word), and contractions split off their
/// suffix as Treebank does ("DON'T" -> "DO", "N'T"; "I'm" -> "I", "'m").
/// </summary>
internal static class Words
{
    private static readonly string[] Suffixes = ["n't", "'ll", "'re", "'ve", "'s", "'m", "'d"];

    public static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var word = new System.Text.StringBuilder();
        foreach (char c in text + " ")
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '.' or '\'' or '\u2019' || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.NonSpacingMark)
            {
                word.Append(c);
                continue;
            }
            Add(tokens, word.ToString());
            word.Clear();
            if (!char.IsWhiteSpace(c)) tokens.Add(c.ToString());
        }
        return tokens;
    }

    private static void Add(List<string> tokens, string word)
    {
        word = word.Trim('\'', '\u2019').TrimEnd('.');
        if (word.Length == 0) return;
        string normal = word.Replace('\u2019', '\'');
        foreach (string suffix in Suffixes)
        {
            if (normal.Length > suffix.Length && normal.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                tokens.Add(word[..^suffix.Length]);
                tokens.Add(word[^suffix.Length..]);
                return;
            }
        }
        tokens.Add(word);
    }
}
