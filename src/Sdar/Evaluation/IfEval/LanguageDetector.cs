namespace Sdar.Evaluation.IfEval;

/// <summary>
/// A language guess in ISO 639-1 codes, standing in for the <c>langdetect</c> package the official checkers call
/// (a naive-Bayes model over character n-grams of 55 languages, which this library does not ship). Here: the
/// writing system decides where it names one language (Thai, Korean, Japanese kana, Greek, Hebrew, the Indic
/// scripts), letters peculiar to one language split Cyrillic (uk / bg / ru), Arabic-script (ur / fa / ar) and
/// Devanagari (mr / ne / hi) text, and Latin-script text goes to the language whose common words it uses most
/// (en, es, pt, fr, de, it, nl, pl, fi, sw, id, tr, vi). That covers the 30 languages IFEval asks for; a text
/// with no letters is undetectable, which the official checkers count as followed. Text is lower-cased first;
/// langdetect is not, and on all-capital text it can differ (it calls "DER SCHNEE FIEL LEISE UND DIE STADT IST
/// WEISS." English, this detector German), which matters for change_case:english_capital.
/// </summary>
public static class LanguageDetector
{
    private static readonly Dictionary<string, HashSet<string>> CommonWords = new()
    {
        ["en"] = ["the", "and", "is", "are", "of", "to", "in", "that", "it", "you", "for", "with", "this", "was", "be", "on", "as", "have", "not", "they", "we", "your", "i", "but", "what", "can", "will", "my", "our", "an"],
        ["es"] = ["el", "la", "de", "que", "y", "en", "los", "las", "es", "por", "un", "una", "con", "para", "no", "se", "del", "al", "lo", "como", "más", "su", "pero", "muy", "está", "tu"],
        ["pt"] = ["o", "a", "de", "que", "e", "do", "da", "em", "os", "as", "não", "um", "uma", "para", "com", "é", "por", "mais", "dos", "das", "se", "na", "no", "você", "são", "muito"],
        ["fr"] = ["le", "la", "les", "de", "des", "et", "est", "un", "une", "du", "en", "que", "qui", "pour", "pas", "dans", "ce", "il", "sur", "au", "avec", "vous", "je", "nous", "sont", "mais"],
        ["de"] = ["der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "mit", "von", "sich", "des", "auf", "für", "im", "dem", "es", "ich", "sie", "wir", "auch", "sind", "wie"],
        ["it"] = ["il", "la", "di", "che", "e", "è", "un", "una", "per", "non", "in", "del", "della", "sono", "con", "le", "gli", "si", "ma", "come", "più", "anche", "questo", "lo"],
        ["nl"] = ["de", "het", "een", "en", "van", "is", "dat", "niet", "op", "te", "zijn", "voor", "met", "ik", "je", "die", "ook", "maar", "wat", "er"],
        ["pl"] = ["i", "w", "na", "nie", "się", "z", "że", "jest", "do", "to", "jak", "ale", "co", "o", "są", "po", "od", "za", "tak", "dla"],
        ["fi"] = ["ja", "on", "ei", "se", "että", "oli", "ovat", "kun", "mutta", "tai", "myös", "kuin", "niin", "hän", "joka", "mitä", "sen", "tämä", "ole", "voi", "siitä", "jos", "vain", "olla", "ovat", "sinun", "minä"],
        ["sw"] = ["na", "ya", "wa", "kwa", "ni", "za", "katika", "la", "kuwa", "hii", "cha", "au", "lakini", "sana", "yake", "ambayo", "pia", "wako", "mimi", "hiyo"],
        ["id"] = ["yang", "dan", "di", "ini", "itu", "dengan", "untuk", "tidak", "dari", "dalam", "akan", "ada", "saya", "adalah", "kami", "juga", "atau", "ke"],
        ["tr"] = ["ve", "bir", "bu", "da", "de", "için", "ile", "çok", "ne", "gibi", "daha", "olan", "var", "ama", "değil", "ben", "sen"],
        ["vi"] = ["và", "của", "là", "có", "không", "được", "những", "các", "cho", "một", "người", "trong", "này", "đã", "với"],
    };

    /// <summary>True when <paramref name="text"/> is detected as <paramref name="language"/>, or when no language can be detected.</summary>
    public static bool IsLanguageOrUndetectable(string text, string language) => Detect(text) is not { } detected || detected == language;

    /// <summary>The detected language code, or null for a text without letters.</summary>
    public static string? Detect(string text)
    {
        var scripts = new Dictionary<string, int>();
        foreach (char c in text)
            if (char.IsLetter(c) && Script(c) is { } script) scripts[script] = scripts.GetValueOrDefault(script) + 1;
        if (scripts.Count == 0) return null;
        string main = scripts.MaxBy(s => s.Value).Key;
        return main switch
        {
            "latin" => Latin(text),
            "cyrillic" => text.IndexOfAny(['і', 'ї', 'є', 'ґ', 'І', 'Ї', 'Є', 'Ґ']) >= 0 ? "uk"
                : text.IndexOfAny(['ы', 'э', 'Ы', 'Э']) < 0 && text.Contains('ъ', StringComparison.Ordinal) ? "bg" : "ru",
            "arabic" => text.IndexOfAny(['ے', 'ں', 'ٹ', 'ڈ', 'ڑ', 'ھ']) >= 0 ? "ur" : text.IndexOfAny(['پ', 'چ', 'ژ', 'گ', 'ک', 'ی']) >= 0 ? "fa" : "ar",
            "devanagari" => text.Contains("आहे", StringComparison.Ordinal) || text.Contains('ळ', StringComparison.Ordinal) ? "mr"
                : text.Contains("छ।", StringComparison.Ordinal) || text.Contains("हुन्छ", StringComparison.Ordinal) || text.Contains("छन्", StringComparison.Ordinal) ? "ne" : "hi",
            // Kana anywhere means Japanese even where Han characters outnumber it; Han alone is Chinese (langdetect says zh-cn).
            "han" => scripts.ContainsKey("kana") ? "ja" : "zh-cn",
            "kana" => "ja",
            _ => main,
        };
    }

    private static string? Script(char c) => c switch
    {
        < '\u0250' => "latin",
        >= '\u1E00' and <= '\u1EFF' => "latin",
        >= '\u0370' and <= '\u03FF' => "el",
        >= '\u0400' and <= '\u04FF' => "cyrillic",
        >= '\u0590' and <= '\u05FF' => "he",
        >= '\u0600' and <= '\u06FF' => "arabic",
        >= '\u0900' and <= '\u097F' => "devanagari",
        >= '\u0980' and <= '\u09FF' => "bn",
        >= '\u0A00' and <= '\u0A7F' => "pa",
        >= '\u0A80' and <= '\u0AFF' => "gu",
        >= '\u0B80' and <= '\u0BFF' => "ta",
        >= '\u0C00' and <= '\u0C7F' => "te",
        >= '\u0C80' and <= '\u0CFF' => "kn",
        >= '\u0D00' and <= '\u0D7F' => "ml",
        >= '\u0E00' and <= '\u0E7F' => "th",
        >= '\u3040' and <= '\u30FF' => "kana",
        >= '\u4E00' and <= '\u9FFF' => "han",
        >= '\uAC00' and <= '\uD7AF' => "ko",
        >= '\u1100' and <= '\u11FF' => "ko",
        _ => null,
    };

    private static string Latin(string text)
    {
        // Vietnamese is told by its letters, which no other language here uses.
        if (text.ToLowerInvariant().Count(c => "ơưđạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ".Contains(c, StringComparison.Ordinal)) >= 3) return "vi";
        var words = text.ToLowerInvariant().Split(static c => !char.IsLetter(c));
        var counts = CommonWords.ToDictionary(l => l.Key, _ => 0);
        foreach (string word in words)
            if (word.Length > 0)
                foreach (var (language, common) in CommonWords)
                    if (common.Contains(word)) counts[language]++;
        var best = counts.MaxBy(c => c.Value);
        return best.Value == 0 ? "en" : best.Key;
    }
}

internal static class SplitExtensions
{
    public static string[] Split(this string text, Func<char, bool> separator)
    {
        var parts = new List<string>();
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && !separator(text[i])) continue;
            if (i > start) parts.Add(text[start..i]);
            start = i + 1;
        }
        return [.. parts];
    }
}
