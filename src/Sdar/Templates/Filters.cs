using System.Globalization;
using System.Text;

// Filters and functions share one signature (object? in, object? out), so narrower return types do not help.
#pragma warning disable CA1859

namespace Sdar.Templates;

/// <summary>
/// Jinja2's built-in filters that chat templates use, with Jinja2's argument names and defaults, plus
/// transformers' <c>tojson</c> (json.dumps with ensure_ascii=False and Python's ", " / ": " separators).
/// </summary>
internal static class Filters
{
    private delegate object? Filter(object? value, CallArgs args);

    private static readonly Dictionary<string, Filter> Table = new()
    {
        ["abs"] = (v, a) => { a.Expect(); return v switch { long.MinValue => throw a.Error("integer overflow: the absolute value does not fit in 64 bits"), long l => (object)Math.Abs(l), double d => Math.Abs(d), bool b => b ? 1L : 0L, _ => throw Bad(a, v, "a number") }; },
        ["capitalize"] = (v, a) => { a.Expect(); string s = PyFormat.Str(v, a.Budget); return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(); },
        ["count"] = Length,
        ["default"] = Default,
        ["d"] = Default,
        ["dictsort"] = DictSort,
        ["escape"] = Escape,
        ["e"] = Escape,
        ["first"] = (v, a) => { a.Expect(); var items = PyOps.Iterate(v, a.Line); return items.Count > 0 ? items[0] : new Undefined("first item of an empty sequence"); },
        ["float"] = ToFloat,
        ["indent"] = Indent,
        ["int"] = ToInt,
        ["items"] = (v, a) => { a.Expect(); return v is Undefined ? new List<object?>() : v is IReadOnlyDictionary<string, object?> d ? Methods.Invoke(d, "items", a) : throw Bad(a, v, "a mapping"); },
        ["join"] = Join,
        ["last"] = (v, a) => { a.Expect(); var items = PyOps.Iterate(v, a.Line); return items.Count > 0 ? items[^1] : new Undefined("last item of an empty sequence"); },
        ["length"] = Length,
        ["list"] = (v, a) => { a.Expect(); return PyOps.Iterate(v, a.Line).ToList(); },
        ["lower"] = (v, a) => { a.Expect(); return PyFormat.Str(v, a.Budget).ToLowerInvariant(); },
        ["map"] = Map,
        ["max"] = (v, a) => MinMax(v, a, max: true),
        ["min"] = (v, a) => MinMax(v, a, max: false),
        ["reject"] = (v, a) => Select(v, a, byAttribute: false, keep: false),
        ["rejectattr"] = (v, a) => Select(v, a, byAttribute: true, keep: false),
        ["replace"] = (v, a) => { a.Expect("old", "new", "count"); return Methods.Replace(PyFormat.Str(v, a.Budget), a.GetString(0, "old"), a.GetString(1, "new"), a.Get(2, "count") is null ? -1 : a.GetInt(2, "count", -1), a); },
        ["reverse"] = (v, a) => { a.Expect(); return v is string s ? string.Concat(PyOps.Chars(s).Reverse()) : PyOps.Iterate(v, a.Line).Reverse().ToList(); },
        ["round"] = Round,
        ["safe"] = (v, a) => { a.Expect(); return v; },
        ["select"] = (v, a) => Select(v, a, byAttribute: false, keep: true),
        ["selectattr"] = (v, a) => Select(v, a, byAttribute: true, keep: true),
        ["sort"] = Sort,
        ["string"] = (v, a) => { a.Expect(); return PyFormat.Str(v, a.Budget); },
        ["sum"] = Sum,
        ["title"] = (v, a) => { a.Expect(); return Title(PyFormat.Str(v, a.Budget)); },
        ["tojson"] = ToJson,
        ["trim"] = (v, a) => { a.Expect("chars"); return Methods.Invoke(PyFormat.Str(v, a.Budget), "strip", a); },
        ["unique"] = Unique,
        ["upper"] = (v, a) => { a.Expect(); return PyFormat.Str(v, a.Budget).ToUpperInvariant(); },
        ["wordcount"] = (v, a) => { a.Expect(); return (long)PyFormat.Str(v, a.Budget).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length; },
    };

    public static object? Apply(string name, object? value, CallArgs args) =>
        Table.TryGetValue(name, out Filter? f) ? f(value, args) : throw new TemplateException($"unknown filter '{name}'", args.Line);

    private static TemplateException Bad(CallArgs a, object? v, string expected) =>
        v is Undefined u ? new TemplateException($"'{u.Name}' is undefined", a.Line) : a.Error($"expected {expected}, got {PyOps.TypeName(v)}");

    private static object? Length(object? v, CallArgs a)
    {
        a.Expect();
        return v switch
        {
            string s => (long)PyOps.Length(s),
            IReadOnlyList<object?> l => (long)l.Count,
            IReadOnlyDictionary<string, object?> d => (long)d.Count,
            Undefined => 0L,
            _ => throw a.Error($"object of type '{PyOps.TypeName(v)}' has no len()"),
        };
    }

    private static object? Default(object? v, CallArgs a)
    {
        a.Expect("default_value", "boolean");
        bool boolean = PyOps.IsTrue(a.Get(1, "boolean", false));
        return v is Undefined || (boolean && !PyOps.IsTrue(v)) ? a.Get(0, "default_value", "") : v;
    }

    private static object? Escape(object? v, CallArgs a)
    {
        a.Expect();
        string s = PyFormat.Str(v, a.Budget);
        a.CheckString(s.Length + (5L * s.AsSpan().Count('"')) + (4L * s.AsSpan().Count('&')) + (4L * s.AsSpan().Count('\'')) + (3L * s.AsSpan().Count('<')) + (3L * s.AsSpan().Count('>')), "escaping");
        return s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal);
    }

    private static object? ToFloat(object? v, CallArgs a)
    {
        a.Expect("default");
        object? fallback = a.Get(0, "default", 0.0);
        return v switch
        {
            double d => d,
            long l => (double)l,
            bool b => b ? 1.0 : 0.0,
            string s => ParseFloat(s) ?? fallback,
            _ => fallback,
        };
    }

    private static double? ParseFloat(string s)
    {
        string t = s.Trim().Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        if (t is "inf" or "+inf" or "infinity" or "+infinity") return double.PositiveInfinity;
        if (t is "-inf" or "-infinity") return double.NegativeInfinity;
        if (t is "nan" or "+nan" or "-nan") return double.NaN;
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;
    }

    private static object? ToInt(object? v, CallArgs a)
    {
        a.Expect("default", "base");
        object? fallback = a.Get(0, "default", 0L);
        int radix = (int)a.GetInt(1, "base", 10);
        switch (v)
        {
            case long l: return l;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                string t = s.Trim().Replace("_", "", StringComparison.Ordinal);
                try { return Convert.ToInt64(t, radix is 2 or 8 or 10 or 16 ? radix : 10); }
                catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                {
                    return ParseFloat(t) is double f && double.IsFinite(f) ? (long)Math.Truncate(f) : fallback;
                }
            default: return fallback;
        }
    }

    /// <summary>Jinja2's indent: every line but the first (unless first=true) gets the prefix; blank lines only if blank=true.</summary>
    private static object? Indent(object? v, CallArgs a)
    {
        a.Expect("width", "first", "blank");
        object? width = a.Get(0, "width", 4L);
        long spaces = width is string ? 0 : Math.Max(0, a.GetInt(0, "width", 4));
        a.CheckString(spaces, "the indent width");
        string prefix = width as string ?? new string(' ', (int)spaces);
        bool first = PyOps.IsTrue(a.Get(1, "first", false)), blank = PyOps.IsTrue(a.Get(2, "blank", false));
        string text = PyFormat.Str(v, a.Budget);
        var lines = (List<object?>)Methods.Invoke(text + "\n", "splitlines", new CallArgs("splitlines", [], CallArgs.NoKeywords, a.Line, a.Budget))!;
        a.CheckString(text.Length + ((long)prefix.Length * lines.Count), "indenting");
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            string line = (string)lines[i]!;
            if (i > 0) sb.Append('\n');
            if (i > 0 && (blank || line.Length > 0)) sb.Append(prefix);
            sb.Append(line);
        }
        return first ? prefix + sb : sb.ToString();
    }

    private static object? Join(object? v, CallArgs a)
    {
        a.Expect("d", "attribute");
        string separator = PyFormat.Str(a.Get(0, "d", ""), a.Budget);
        var items = PyOps.Iterate(v, a.Line);
        if (a.Get(1, "attribute") is object attribute) items = items.Select(x => GetPath(x, attribute)).ToList();
        var texts = items.Select(x => PyFormat.Str(x, a.Budget)).ToList();
        a.CheckString(texts.Sum(t => (long)t.Length) + ((long)separator.Length * Math.Max(0, texts.Count - 1)), "joining");
        return string.Join(separator, texts);
    }

    /// <summary>Jinja2's attribute getter: "a.b.0" looks up each part as an item first, then as an attribute.</summary>
    internal static object? GetPath(object? item, object? attribute)
    {
        if (attribute is not string path) return Interpreter.GetItem(item, attribute, null);
        foreach (string part in path.Split('.'))
            item = Interpreter.GetItem(item, long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long i) ? i : part, null);
        return item;
    }

    private static object? Map(object? v, CallArgs a)
    {
        var items = PyOps.Iterate(v, a.Line);
        if (a.Keywords.TryGetValue("attribute", out object? attribute))
        {
            a.Expect("attribute", "default");
            bool hasDefault = a.Keywords.TryGetValue("default", out object? fallback);
            return items.Select(x => GetPath(x, attribute) is var r && r is Undefined && hasDefault ? fallback : r).ToList();
        }
        if (a.Positional.Count == 0 || a.Positional[0] is not string filter) throw a.Error("expected a filter name or attribute=...");
        var rest = new CallArgs(filter, a.Positional.Skip(1).ToList(), a.Keywords, a.Line, a.Budget);
        return items.Select(x =>
        {
            object? mapped = Apply(filter, x, rest);
            a.Budget?.CheckResult(mapped, a.Line, filter);
            return mapped;
        }).ToList();
    }

    /// <summary>select/reject(test, args...) and selectattr/rejectattr(attribute, test, args...); no test = truthiness.</summary>
    private static object? Select(object? v, CallArgs a, bool byAttribute, bool keep)
    {
        var items = PyOps.Iterate(v, a.Line);
        int offset = byAttribute ? 1 : 0;
        if (byAttribute && a.Positional.Count == 0) throw a.Error("expected an attribute name");
        string? test = a.Positional.Count > offset ? a.Positional[offset] as string ?? throw a.Error("the test name must be a string") : null;
        var testArgs = a.Positional.Skip(offset + 1).ToList();
        return items.Where(x =>
        {
            a.Budget?.Tick(a.Line);
            object? subject = byAttribute ? GetPath(x, a.Positional[0]) : x;
            bool passed = test is null ? PyOps.IsTrue(subject) : Predicates.Apply(test, subject, testArgs, a.Line);
            return passed == keep;
        }).ToList();
    }

    private static object? Round(object? v, CallArgs a)
    {
        a.Expect("precision", "method");
        int precision = (int)a.GetInt(0, "precision", 0);
        string method = a.GetString(1, "method", "common");
        if (v is long or bool && method == "common" && precision >= 0) return v is bool b ? (b ? 1L : 0L) : v;
        double d = v switch { double x => x, long l => l, bool b => b ? 1 : 0, _ => throw Bad(a, v, "a number") };
        double scale = Math.Pow(10, precision);
        return method switch
        {
            "common" => Math.Round(d, Math.Clamp(precision, 0, 15), MidpointRounding.ToEven),
            "ceil" => Math.Ceiling(d * scale) / scale,
            "floor" => Math.Floor(d * scale) / scale,
            _ => throw a.Error("method must be 'common', 'ceil' or 'floor'"),
        };
    }

    /// <summary>Jinja2's sort key: case-insensitive strings unless case_sensitive, optionally by attribute.</summary>
    private static Func<object?, object?> SortKey(CallArgs a, bool caseSensitive, object? attribute) => x =>
    {
        object? key = attribute is null ? x : GetPath(x, attribute);
        return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
    };

    private static object? Sort(object? v, CallArgs a)
    {
        a.Expect("reverse", "case_sensitive", "attribute");
        var key = SortKey(a, PyOps.IsTrue(a.Get(1, "case_sensitive", false)), a.Get(2, "attribute"));
        var sorted = PyOps.Iterate(v, a.Line).OrderBy(key, Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<", a.Line))).ToList();
        if (PyOps.IsTrue(a.Get(0, "reverse", false))) sorted.Reverse();
        return sorted;
    }

    private static object? DictSort(object? v, CallArgs a)
    {
        a.Expect("case_sensitive", "by", "reverse");
        if (v is not IReadOnlyDictionary<string, object?> d) throw Bad(a, v, "a mapping");
        bool byValue = a.GetString(1, "by", "key") == "value";
        var key = SortKey(a, PyOps.IsTrue(a.Get(0, "case_sensitive", false)), null);
        var pairs = d.OrderBy(kv => key(byValue ? kv.Value : kv.Key), Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<", a.Line)))
            .Select(kv => (object?)new JinjaTuple([kv.Key, kv.Value])).ToList();
        if (PyOps.IsTrue(a.Get(2, "reverse", false))) pairs.Reverse();
        return pairs;
    }

    private static object? Unique(object? v, CallArgs a)
    {
        a.Expect("case_sensitive", "attribute");
        var key = SortKey(a, PyOps.IsTrue(a.Get(0, "case_sensitive", false)), a.Get(1, "attribute"));
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (object? x in PyOps.Iterate(v, a.Line))
        {
            object? k = key(x);
            if (seen.Any(s => PyOps.AreEqual(s, k))) continue;
            seen.Add(k);
            result.Add(x);
        }
        return result;
    }

    private static object? MinMax(object? v, CallArgs a, bool max)
    {
        a.Expect("case_sensitive", "attribute");
        var key = SortKey(a, PyOps.IsTrue(a.Get(0, "case_sensitive", false)), a.Get(1, "attribute"));
        var items = PyOps.Iterate(v, a.Line);
        if (items.Count == 0) return new Undefined($"{a.Callee} of an empty sequence");
        object? best = items[0];
        foreach (object? x in items.Skip(1))
        {
            int c = PyOps.Compare(key(x), key(best), "<", a.Line);
            if (max ? c > 0 : c < 0) best = x;
        }
        return best;
    }

    private static object? Sum(object? v, CallArgs a)
    {
        a.Expect("attribute", "start");
        object? total = a.Get(1, "start", 0L);
        object? attribute = a.Get(0, "attribute");
        foreach (object? x in PyOps.Iterate(v, a.Line)) total = PyOps.Binary("+", total, attribute is null ? x : GetPath(x, attribute), a.Line, a.Budget);
        return total;
    }

    /// <summary>Jinja2's title filter: a word starts after '-', whitespace, or an opening bracket.</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = c is '-' or '(' or '{' or '[' or '<' || char.IsWhiteSpace(c);
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }
        return sb.ToString();
    }

    private static object? ToJson(object? v, CallArgs a)
    {
        a.Expect("ensure_ascii", "indent", "separators", "sort_keys");
        bool ensureAscii = PyOps.IsTrue(a.Get(0, "ensure_ascii", false));
        object? indentArg = a.Get(1, "indent");
        int? indent = indentArg switch { null => null, long n => (int)Math.Clamp(n, 0, int.MaxValue), _ => throw a.Error("indent must be an integer or none") };
        string itemSeparator = indent is null ? ", " : ",", keySeparator = ": ";
        if (a.Get(2, "separators") is IReadOnlyList<object?> { Count: 2 } seps && seps[0] is string s0 && seps[1] is string s1)
            (itemSeparator, keySeparator) = (s0, s1);
        else if (a.Get(2, "separators") is not null) throw a.Error("separators must be a pair of strings");
        return PyFormat.Json(v, ensureAscii, indent, itemSeparator, keySeparator, PyOps.IsTrue(a.Get(3, "sort_keys", false)), a.Line, a.Budget);
    }
}
