using System.Text.RegularExpressions;

namespace Sdar.Evaluation.IfEval;

/// <summary>Python's str methods that the official checkers use, where .NET's differ.</summary>
internal static class PythonText
{
    /// <summary>str.isupper: at least one cased character and no lower-case one.</summary>
    public static bool IsUpper(string s)
    {
        bool cased = false;
        foreach (char c in s)
        {
            if (char.IsLower(c)) return false;
            if (char.IsUpper(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter) cased = true;
        }
        return cased;
    }

    /// <summary>str.islower: at least one cased character and no upper-case or title-case one.</summary>
    public static bool IsLower(string s)
    {
        bool cased = false;
        foreach (char c in s)
        {
            if (char.IsUpper(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter) return false;
            if (char.IsLower(c)) cased = true;
        }
        return cased;
    }

    /// <summary>str.split() without arguments: runs of whitespace separate, no empty pieces.</summary>
    public static string[] SplitWhitespace(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A pattern written for Python's re, compiled for .NET (the keyword arguments are used as patterns).</summary>
    public static Regex Pattern(string pattern, RegexOptions options, string where)
    {
        try
        {
            return new Regex(pattern, options | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new BenchmarkDataException($"{where}: \"{pattern}\" is not a valid regular expression ({e.Message})", e);
        }
    }
}
