using System.Text;
using System.Text.RegularExpressions;

namespace Sdar.Evaluation;

/// <summary>
/// The MATH answer convention (Hendrycks et al. 2021, hendrycks/math): the answer is the content of the last
/// <c>\boxed{...}</c> of a solution, and two answers are equal when their <see cref="Normalise">normalised</see>
/// strings are equal (<c>is_equiv</c> / <c>_strip_string</c> of modeling/math_equivalence.py, step by step and
/// with its quirks; a string the reference cannot normalise, where the Python raises, is compared raw).
/// </summary>
public static partial class MathAnswer
{
    /// <summary>
    /// The content of the last <c>\boxed{...}</c> (braces balanced, so nested braces stay inside) or, when there is
    /// no <c>\boxed</c> at all, of the last <c>\fbox{...}</c> (<c>last_boxed_only_string</c>); <c>\boxed 5</c>
    /// without braces gives the text after it up to a <c>$</c> (the Minerva / lm-evaluation-harness extension).
    /// Where hendrycks/math's <c>remove_boxed</c> gives up on an <c>\fbox</c> (it only strips "\boxed{"), this
    /// strips "\fbox{" too, so that a model writing \fbox is not marked wrong for the command's name.
    /// Null when there is none or its braces never close.
    /// </summary>
    public static string? LastBoxed(string text)
    {
        // The harness takes "\boxed 5" whenever "\boxed " occurs anywhere; here only when it is the last \boxed, so that
        // a final "\boxed{...}" after a spaced one mentioned earlier still wins.
        int spaced = text.LastIndexOf("\\boxed ", StringComparison.Ordinal);
        int at = text.LastIndexOf("\\boxed", StringComparison.Ordinal);
        if (spaced >= 0 && spaced == at)
        {
            string rest = text[(spaced + "\\boxed ".Length)..];
            int dollar = rest.IndexOf('$', StringComparison.Ordinal);
            return dollar < 0 ? rest : rest[..dollar];
        }
        string command = "\\boxed";
        if (at < 0)
        {
            at = text.LastIndexOf("\\fbox", StringComparison.Ordinal);
            command = "\\fbox";
            if (at < 0) return null;
        }
        // The reference counts braces from the command on and takes everything to the brace that closes the first one.
        int open = 0;
        for (int i = at; i < text.Length; i++)
        {
            if (text[i] == '{') open++;
            else if (text[i] == '}' && --open == 0)
            {
                string boxed = text[at..(i + 1)];
                // remove_boxed: the whole span must be "\boxed{" + content + "}" (no text between the command and its brace).
                string left = command + "{";
                return boxed.StartsWith(left, StringComparison.Ordinal) ? boxed[left.Length..^1] : null;
            }
        }
        return null;
    }

    /// <summary>
    /// <c>is_equiv</c>: both normalised and compared; where normalising either one fails (the Python raises on
    /// "\frac" or "\sqrt" at the very end, or on two "\text{ " unit markers), the raw strings are compared instead.
    /// </summary>
    public static bool IsEquivalent(string? a, string? b)
    {
        if (a is null || b is null) return a is null && b is null;
        string? na = Normalise(a), nb = Normalise(b);
        return na is null || nb is null ? a == b : na == nb;
    }

    /// <summary>
    /// <c>_strip_string</c>: the normal form of an answer, or null where the reference raises an exception (and so
    /// falls back to comparing raw strings).
    /// </summary>
    public static string? Normalise(string s)
    {
        s = s.Replace("\n", "", StringComparison.Ordinal);
        s = s.Replace("\\!", "", StringComparison.Ordinal);
        s = s.Replace("\\\\", "\\", StringComparison.Ordinal);
        // Plain substrings, not commands: "\tfrac" and "\dfrac" become "\frac" (and so would any "dfrac").
        s = s.Replace("tfrac", "frac", StringComparison.Ordinal).Replace("dfrac", "frac", StringComparison.Ordinal);
        // Also plain substrings: "\rightarrow" loses its "\right" as in the reference.
        s = s.Replace("\\left", "", StringComparison.Ordinal).Replace("\\right", "", StringComparison.Ordinal);
        s = s.Replace("^{\\circ}", "", StringComparison.Ordinal).Replace("^\\circ", "", StringComparison.Ordinal);
        s = s.Replace("\\$", "", StringComparison.Ordinal);
        if (RemoveRightUnits(s) is not { } withoutUnits) return null;
        s = withoutUnits;
        s = s.Replace("\\%", "", StringComparison.Ordinal).Replace("%", "", StringComparison.Ordinal);
        s = s.Replace(" .", " 0.", StringComparison.Ordinal).Replace("{.", "{0.", StringComparison.Ordinal);
        if (s.Length == 0) return s;
        if (s[0] == '.') s = "0" + s;
        // "k = 5" -> " 5": only one '=' and at most two characters before it.
        string[] sides = s.Split('=');
        if (sides.Length == 2 && sides[0].Length <= 2) s = sides[1];
        if (FixSqrt(s) is not { } sqrtFixed) return null;
        s = sqrtFixed.Replace(" ", "", StringComparison.Ordinal);
        if (FixFracs(s) is not { } fracsFixed) return null;
        s = fracsFixed;
        if (s == "0.5") s = "\\frac{1}{2}";
        return FixSlash(s);
    }

    /// <summary><c>_remove_right_units</c>: "5\text{ cm}" -> "5"; more than one "\text{ " is an assertion failure (null).</summary>
    private static string? RemoveRightUnits(string s)
    {
        const string marker = "\\text{ ";
        if (!s.Contains(marker, StringComparison.Ordinal)) return s;
        string[] splits = s.Split(marker);
        return splits.Length == 2 ? splits[0] : null;
    }

    /// <summary><c>_fix_sqrt</c>: "\sqrt2" -> "\sqrt{2}" (one character only); "\sqrt" at the very end raises (null).</summary>
    private static string? FixSqrt(string s)
    {
        if (!s.Contains("\\sqrt", StringComparison.Ordinal)) return s;
        string[] splits = s.Split("\\sqrt");
        var result = new StringBuilder(splits[0]);
        foreach (string split in splits.Skip(1))
        {
            if (split.Length == 0) return null;
            result.Append(split[0] != '{' ? "\\sqrt{" + split[0] + "}" + split[1..] : "\\sqrt" + split);
        }
        return result.ToString();
    }

    /// <summary>
    /// <c>_fix_fracs</c>: "\frac12" -> "\frac{1}{2}", "\frac1{72}" -> "\frac{1}{72}"; a "\frac" with one character
    /// after it leaves the whole string as it was; "\frac" at the very end raises (null).
    /// </summary>
    private static string? FixFracs(string s)
    {
        string[] substrings = s.Split("\\frac");
        var result = new StringBuilder(substrings[0]);
        foreach (string sub in substrings.Skip(1))
        {
            result.Append("\\frac");
            if (sub.Length == 0) return null;
            if (sub[0] == '{')
            {
                result.Append(sub);
                continue;
            }
            if (sub.Length < 2) return s;
            char a = sub[0], b = sub[1];
            string rest = sub[2..];
            result.Append(b != '{' ? "{" + a + "}{" + b + "}" + rest : "{" + a + "}" + b + rest);
        }
        return result.ToString();
    }

    // Python's int() then "{}/{}".format(a, b) == string: plain decimal integers without a '+' or leading zeros.
    [GeneratedRegex(@"^(-?[1-9][0-9]*|-?0)/(-?[1-9][0-9]*|-?0)$")]
    private static partial Regex IntegerSlashInteger();

    /// <summary><c>_fix_a_slash_b</c>: "3/4" -> "\frac{3}{4}" when both sides are integers written canonically.</summary>
    private static string FixSlash(string s)
    {
        var match = IntegerSlashInteger().Match(s);
        // int("-0") is 0, which prints as "0" and so fails the reference's round-trip check.
        if (!match.Success || match.Groups[1].Value == "-0" || match.Groups[2].Value == "-0") return s;
        return "\\frac{" + match.Groups[1].Value + "}{" + match.Groups[2].Value + "}";
    }
}
