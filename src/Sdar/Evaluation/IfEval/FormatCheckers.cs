using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdar.Evaluation.IfEval;

/// <summary>detectable_content:number_placeholders: at least N "[...]" (non-greedy, within a line).</summary>
internal sealed partial class Placeholders(int count) : IInstructionChecker
{
    [GeneratedRegex(@"\[.*?\]")]
    private static partial Regex Placeholder();

    public bool IsFollowed(string response) => Placeholder().Count(response) >= count;
}

/// <summary>detectable_content:postscript: a line containing the marker ("P.S.", "P.P.S" with optional spaces, or any other as a pattern).</summary>
internal sealed class Postscript(string marker, string where) : IInstructionChecker
{
    private readonly Regex _pattern = marker switch
    {
        "P.P.S" => new Regex(@"\s*p\.\s?p\.\s?s.*$", RegexOptions.Multiline),
        "P.S." => new Regex(@"\s*p\.\s?s\..*$", RegexOptions.Multiline),
        _ => PythonText.Pattern(@"\s*" + marker.ToLowerInvariant() + @".*$", RegexOptions.Multiline, where),
    };

    public bool IsFollowed(string response) => _pattern.IsMatch(response.ToLowerInvariant());
}

/// <summary>detectable_format:number_bullet_lists: exactly N lines starting with "* " (not "**") or "-".</summary>
internal sealed partial class BulletLists(int count) : IInstructionChecker
{
    [GeneratedRegex(@"^\s*\*[^\*].*$", RegexOptions.Multiline)]
    private static partial Regex Star();

    [GeneratedRegex(@"^\s*-.*$", RegexOptions.Multiline)]
    private static partial Regex Dash();

    public bool IsFollowed(string response) => Star().Count(response) + Dash().Count(response) == count;
}

/// <summary>detectable_format:constrained_response: contains "My answer is yes." / "no." / "maybe.".</summary>
internal sealed class ConstrainedResponse : IInstructionChecker
{
    private static readonly string[] Options = ["My answer is yes.", "My answer is no.", "My answer is maybe."];

    public bool IsFollowed(string response)
    {
        string trimmed = response.Trim();
        return Options.Any(o => trimmed.Contains(o, StringComparison.Ordinal));
    }
}

/// <summary>
/// detectable_format:number_highlighted_sections: at least N non-blank "*...*" spans within a line; every non-blank
/// "**...**" counts once more, as in the reference.
/// </summary>
internal sealed partial class HighlightedSections(int count) : IInstructionChecker
{
    [GeneratedRegex(@"\*[^\n\*]*\*")]
    private static partial Regex Single();

    [GeneratedRegex(@"\*\*[^\n\*]*\*\*")]
    private static partial Regex Double();

    public bool IsFollowed(string response)
    {
        int found = Single().Matches(response).Count(m => m.Value.Trim('*').Trim().Length > 0)
            + Double().Matches(response).Count(m => m.Value[2..^2].Trim().Length > 0);
        return found >= count;
    }
}

/// <summary>detectable_format:multiple_sections: splitting on "SECTION 1"-style markers gives at least N sections.</summary>
internal sealed class Sections(string splitter, int count, string where) : IInstructionChecker
{
    private readonly Regex _pattern = PythonText.Pattern(@"\s?" + splitter + @"\s?\d+\s?", RegexOptions.None, where);

    public bool IsFollowed(string response) => _pattern.Split(response).Length - 1 >= count;
}

/// <summary>detectable_format:json_format: the whole response, less ```json fences, is JSON as Python's json.loads reads it.</summary>
internal sealed class JsonFormat : IInstructionChecker
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 1000 };

    public bool IsFollowed(string response)
    {
        string value = response.Trim();
        foreach (string fence in (string[])["```json", "```Json", "```JSON", "```"])
            if (value.StartsWith(fence, StringComparison.Ordinal)) { value = value[fence.Length..]; break; }
        if (value.EndsWith("```", StringComparison.Ordinal)) value = value[..^3];
        value = value.Trim();
        return Parses(value) || Parses(PythonJsonConstants.Replace(value));
    }

    private static bool Parses(string value)
    {
        try
        {
            using var _ = JsonDocument.Parse(value, Options);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>detectable_format:title: a non-blank "&lt;&lt;title&gt;&gt;" on one line.</summary>
internal sealed partial class Title : IInstructionChecker
{
    [GeneratedRegex(@"<<[^\n]+>>")]
    private static partial Regex Pattern();

    public bool IsFollowed(string response) => Pattern().Matches(response).Any(m => m.Value.TrimStart('<').TrimEnd('>').Trim().Length > 0);
}

/// <summary>Python's json also reads NaN, Infinity and -Infinity; System.Text.Json does not, so they are replaced by 0 outside strings.</summary>
internal static class PythonJsonConstants
{
    public static string Replace(string json)
    {
        var result = new System.Text.StringBuilder(json.Length);
        bool inString = false;
        for (int i = 0; i < json.Length; i++)
        {
            char c = json[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < json.Length) result.Append(json[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            string? constant = Starts(json, i, "-Infinity") ?? Starts(json, i, "Infinity") ?? Starts(json, i, "NaN");
            if (constant is null) { result.Append(c); continue; }
            result.Append('0');
            i += constant.Length - 1;
        }
        return result.ToString();
    }

    private static string? Starts(string s, int at, string word) => string.CompareOrdinal(s, at, word, 0, word.Length) == 0 ? word : null;
}
