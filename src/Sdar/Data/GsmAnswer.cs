using System.Globalization;
using System.Text.RegularExpressions;

namespace Sdar.Data;

/// <summary>
/// The GSM8K answer convention: the final answer is the number after the last <c>####</c>, with thousands
/// separators (commas), spaces and a leading dollar sign removed. Exact match compares those numbers.
/// </summary>
public static partial class GsmAnswer
{
    public const string Marker = "####";

    [GeneratedRegex(@"\G\s*\$?\s*(-?\s*[0-9][0-9,]*(?:\.[0-9]+)?)")]
    private static partial Regex NumberAtStart();

    /// <summary>
    /// The number after the last <c>####</c> in <paramref name="text"/>, normalised ("1,234" -> "1234",
    /// "12.50" -> "12.5", "7.0" -> "7"), or null when there is no marker or no number right after it.
    /// Text after the number (an end-of-turn token, a period) is ignored.
    /// </summary>
    public static string? Extract(string text)
    {
        int at = text.LastIndexOf(Marker, StringComparison.Ordinal);
        if (at < 0)
            return null;
        var match = NumberAtStart().Match(text, at + Marker.Length);
        if (!match.Success)
            return null;
        string raw = match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
        return decimal.TryParse(raw, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? Normalise(value)
            : null;
    }

    // A number as a model writes one: an optional sign (ASCII or Unicode minus, not a hyphen inside "3-5"), digits with
    // thousands grouped by commas only in threes ("1,234" but not "12,5"), an optional decimal part; a trailing
    // period or unit is not part of it.
    [GeneratedRegex(@"(?<![0-9A-Za-z.])[-\u2212]?\$?\s?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")]
    private static partial Regex LooseNumber();

    [GeneratedRegex(@"answer\s*(?:is|:)", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerPhrase();

    /// <summary>
    /// The final answer of a model's completion, normalised as <see cref="Extract"/> does: the number after the last
    /// <c>####</c> when there is one; else the number in the last <c>\boxed{}</c>; else the first number after the last
    /// "the answer is" / "Answer:"; else the last number of the text. Null when there is no number at all.
    /// </summary>
    public static string? ExtractPrediction(string completion)
    {
        if (completion.Contains(Marker, StringComparison.Ordinal))
            return Extract(completion);
        if (Sdar.Evaluation.MathAnswer.LastBoxed(completion) is { } boxed)
            return FirstNumber(boxed);
        var phrases = AnswerPhrase().Matches(completion);
        if (phrases.Count > 0 && FirstNumber(completion[(phrases[^1].Index + phrases[^1].Length)..]) is { } stated)
            return stated;
        var numbers = LooseNumber().Matches(completion);
        return numbers.Count == 0 ? null : Parse(numbers[^1].Value);
    }

    private static string? FirstNumber(string text) => LooseNumber().Match(text) is { Success: true } m ? Parse(m.Value) : null;

    private static string? Parse(string raw)
    {
        string plain = raw.Replace(",", "", StringComparison.Ordinal).Replace("$", "", StringComparison.Ordinal)
            .Replace(" ", "", StringComparison.Ordinal).Replace('\u2212', '-');
        return decimal.TryParse(plain, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? Normalise(value)
            : null;
    }

    /// <summary>True when both texts have a final answer and the two numbers are equal.</summary>
    public static bool IsCorrect(string prediction, string reference)
    {
        string? predicted = Extract(prediction), expected = Extract(reference);
        return predicted is not null && predicted == expected;
    }

    /// <summary>Share of predictions whose final answer equals the reference's (0 for an empty list).</summary>
    public static double ExactMatch(IReadOnlyList<string> predictions, IReadOnlyList<string> references)
    {
        if (predictions.Count != references.Count)
            throw new ArgumentException($"{predictions.Count} predictions for {references.Count} references", nameof(predictions));
        if (predictions.Count == 0)
            return 0;
        int correct = 0;
        for (int i = 0; i < predictions.Count; i++)
            if (IsCorrect(predictions[i], references[i]))
                correct++;
        return (double)correct / predictions.Count;
    }

    private static string Normalise(decimal value)
    {
        string s = value.ToString("0.############################", CultureInfo.InvariantCulture);
        return s == "-0" ? "0" : s;
    }
}
