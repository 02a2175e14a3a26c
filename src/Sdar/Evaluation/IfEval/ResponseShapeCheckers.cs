namespace Sdar.Evaluation.IfEval;

/// <summary>combination:two_responses: exactly two different non-blank answers separated by "******".</summary>
internal sealed class TwoResponses : IInstructionChecker
{
    public bool IsFollowed(string response)
    {
        string[] parts = response.Split("******");
        var valid = new List<string>();
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Trim().Length == 0)
            {
                if (i != 0 && i != parts.Length - 1) return false;
            }
            else valid.Add(parts[i]);
        }
        return valid.Count == 2 && valid[0].Trim() != valid[1].Trim();
    }
}

/// <summary>combination:repeat_prompt: the response starts with the request, ignoring case and outer whitespace.</summary>
internal sealed class RepeatPrompt(string prompt) : IInstructionChecker
{
    public bool IsFollowed(string response) =>
        response.Trim().ToLowerInvariant().StartsWith(prompt.Trim().ToLowerInvariant(), StringComparison.Ordinal);
}

/// <summary>startend:end_checker: the response, less outer whitespace and double quotes, ends with the phrase (any case).</summary>
internal sealed class EndsWith(string phrase) : IInstructionChecker
{
    public bool IsFollowed(string response) =>
        response.Trim().Trim('"').ToLowerInvariant().EndsWith(phrase.Trim().ToLowerInvariant(), StringComparison.Ordinal);
}

/// <summary>startend:quotation: the trimmed response is wrapped in double quotes (and longer than one character).</summary>
internal sealed class Quotation : IInstructionChecker
{
    public bool IsFollowed(string response)
    {
        string value = response.Trim();
        return value.Length > 1 && value[0] == '"' && value[^1] == '"';
    }
}

/// <summary>punctuation:no_comma: no ASCII comma anywhere.</summary>
internal sealed class NoComma : IInstructionChecker
{
    public bool IsFollowed(string response) => !response.Contains(',', StringComparison.Ordinal);
}

/// <summary>change_case:capital_word_frequency: words in all capitals (nltk word_tokenize tokens, approximated) against a threshold.</summary>
internal sealed class CapitalWordFrequency(int frequency, Relation relation) : IInstructionChecker
{
    public bool IsFollowed(string response) => relation.Holds(Words.Tokenize(response).Count(PythonText.IsUpper), frequency);
}

/// <summary>change_case:english_capital: all capitals (str.isupper) and detected as English.</summary>
internal sealed class EnglishCapital : IInstructionChecker
{
    public bool IsFollowed(string response) => PythonText.IsUpper(response) && LanguageDetector.IsLanguageOrUndetectable(response, "en");
}

/// <summary>change_case:english_lowercase: all lower case (str.islower) and detected as English.</summary>
internal sealed class EnglishLowercase : IInstructionChecker
{
    public bool IsFollowed(string response) => PythonText.IsLower(response) && LanguageDetector.IsLanguageOrUndetectable(response, "en");
}

/// <summary>language:response_language: the whole response detected as the given ISO 639-1 language.</summary>
internal sealed class ResponseLanguage(string language) : IInstructionChecker
{
    public bool IsFollowed(string response) => LanguageDetector.IsLanguageOrUndetectable(response, language);
}
