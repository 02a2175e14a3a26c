using System.Globalization;
using System.Text;

namespace Sdar.Templates;

/// <summary>Python's str(), repr() and json.dumps() for template values, byte-for-byte.</summary>
internal static class PyFormat
{
    /// <summary>Formatting outside a render (no budget) still stops here, so no value can format without bound.</summary>
    private const int UnbudgetedMaxChars = 64_000_000;

    private static int MaxChars(RenderBudget? budget) => budget?.Limits.MaxStringChars ?? UnbudgetedMaxChars;

    /// <summary>What <c>{{ value }}</c> prints: Python str(), with undefined as "".</summary>
    public static string Str(object? v, RenderBudget? budget = null) => v switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(v, budget),
    };

    public static string Repr(object? v, RenderBudget? budget = null)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, MaxChars(budget));
        return sb.ToString();
    }

    /// <summary>Stops a list, dict or JSON text (which may hold one big string many times) before it outgrows the limit.</summary>
    private static void CheckLength(StringBuilder sb, long adding, int maxChars, string what)
    {
        if (sb.Length + adding > maxChars)
            throw new TemplateLimitException($"the template exceeded its string size limit of {maxChars:N0} characters ({what})");
    }

    /// <summary>A value can contain itself (a namespace holding itself); formatting it must end before the stack does.</summary>
    private static void EnsureStack()
    {
        if (!System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateLimitException("the value nests too deeply to format (does it contain itself?)");
    }

    private static void AppendRepr(StringBuilder sb, object? v, int maxChars)
    {
        EnsureStack();
        CheckLength(sb, v is string str ? str.Length : 0, maxChars, "formatting a value");
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: AppendStringRepr(sb, s); break;
            case Undefined: break;
            case JinjaTuple t:
                sb.Append('(');
                AppendItems(sb, t, maxChars);
                sb.Append(t.Count == 1 ? ",)" : ")");
                break;
            case IReadOnlyList<object?> l:
                sb.Append('[');
                AppendItems(sb, l, maxChars);
                sb.Append(']');
                break;
            case IReadOnlyDictionary<string, object?> d:
                sb.Append('{');
                bool first = true;
                foreach (var (key, value) in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStringRepr(sb, key);
                    sb.Append(": ");
                    AppendRepr(sb, value, maxChars);
                }
                sb.Append('}');
                break;
            case Namespace ns:
                sb.Append("<Namespace ");
                AppendRepr(sb, ns.Attributes, maxChars);
                sb.Append('>');
                break;
            case NativeFunction f: sb.Append("<function ").Append(f.Name).Append('>'); break;
            case BoundMethod m: sb.Append("<built-in method ").Append(m.Name).Append(" of ").Append(PyOps.TypeName(m.Receiver)).Append(" object>"); break;
            default: sb.Append('<').Append(PyOps.TypeName(v)).Append('>'); break;
        }
    }

    private static void AppendItems(StringBuilder sb, IReadOnlyList<object?> items, int maxChars)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            AppendRepr(sb, items[i], maxChars);
        }
    }

    /// <summary>Python's string repr: single quotes unless the text has ' and no ".</summary>
    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        sb.Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(quote);
    }

    /// <summary>
    /// Python's float repr: the shortest round-trip digits, positional with ".0" for exponents -4..15,
    /// otherwise scientific with a two-digit exponent ("1e+16", "1.5e-05").
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // Shortest round-trip digits come from "R"; parse them into digits + decimal exponent.
        string shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exp;
        string mantissa;
        int e = shortest.IndexOfAny(['E', 'e']);
        if (e >= 0) { exp = int.Parse(shortest.AsSpan(e + 1), CultureInfo.InvariantCulture); mantissa = shortest[..e]; }
        else { exp = 0; mantissa = shortest; }
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        string digits = (intPart + fracPart).TrimStart('0');
        int leadingZeros = (intPart + fracPart).Length - digits.Length;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        // value = 0.digits * 10^pointPos
        int pointPos = intPart.Length - leadingZeros + exp;
        int sciExp = pointPos - 1;
        var sb = new StringBuilder();
        if (d < 0) sb.Append('-');
        if (sciExp < -4 || sciExp >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits.AsSpan(1));
            sb.Append('e').Append(sciExp < 0 ? '-' : '+').Append(Math.Abs(sciExp).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (pointPos <= 0)
        {
            sb.Append("0.").Append('0', -pointPos).Append(digits);
        }
        else if (pointPos >= digits.Length)
        {
            sb.Append(digits).Append('0', pointPos - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits.AsSpan(0, pointPos)).Append('.').Append(digits.AsSpan(pointPos));
        }
        return sb.ToString();
    }

    /// <summary>
    /// json.dumps(value, ensure_ascii, indent, separators, sort_keys) as transformers' tojson filter calls it:
    /// default separators ", " and ": " (with an indent: "," and ": "), non-ASCII kept unless ensureAscii.
    /// </summary>
    public static string Json(object? value, bool ensureAscii, int? indent, string itemSeparator, string keySeparator, bool sortKeys, int line,
        RenderBudget? budget = null)
    {
        var sb = new StringBuilder();
        var style = new JsonStyle(ensureAscii, indent, itemSeparator, keySeparator, sortKeys, line, MaxChars(budget));
        AppendJson(sb, value, style, 0);
        return sb.ToString();
    }

    private sealed record JsonStyle(bool Ascii, int? Indent, string ItemSeparator, string KeySeparator, bool SortKeys, int Line, int MaxChars);

    private static void AppendJson(StringBuilder sb, object? v, JsonStyle style, int level)
    {
        EnsureStack();
        (bool ascii, _, string itemSep, string keySep, bool sortKeys, int line, int maxChars) = style;
        // A string may grow 6-fold when escaped (\u0001).
        CheckLength(sb, v is string str ? str.Length : 0, maxChars, "tojson");
        switch (v)
        {
            case null: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : FloatRepr(d));
                return;
            case string s: AppendJsonString(sb, s, ascii); return;
            case IReadOnlyList<object?> list:
                if (list.Count == 0) { sb.Append("[]"); return; }
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, style, level + 1);
                    AppendJson(sb, list[i], style, level + 1);
                }
                NewLine(sb, style, level);
                sb.Append(']');
                return;
            case IReadOnlyDictionary<string, object?> dict:
                if (dict.Count == 0) { sb.Append("{}"); return; }
                sb.Append('{');
                IEnumerable<KeyValuePair<string, object?>> pairs = sortKeys ? dict.OrderBy(kv => kv.Key, StringComparer.Ordinal) : dict;
                bool first = true;
                foreach (var (key, value) in pairs)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(sb, style, level + 1);
                    AppendJsonString(sb, key, ascii);
                    sb.Append(keySep);
                    AppendJson(sb, value, style, level + 1);
                }
                NewLine(sb, style, level);
                sb.Append('}');
                return;
            case Undefined u: throw new TemplateException($"tojson: '{u.Name}' is undefined", line);
            default: throw new TemplateException($"tojson: object of type {PyOps.TypeName(v)} is not JSON serializable", line);
        }
    }

    private static void NewLine(StringBuilder sb, JsonStyle style, int level)
    {
        if (style.Indent is not int n) return;
        CheckLength(sb, 1 + ((long)n * level), style.MaxChars, "tojson indent");
        sb.Append('\n').Append(' ', n * level);
    }

    private static void AppendJsonString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\b': sb.Append(@"\b"); break;
                case '\f': sb.Append(@"\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7f)) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
