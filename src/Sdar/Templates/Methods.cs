using System.Text;

// Filters and functions share one signature (object? in, object? out), so narrower return types do not help.
#pragma warning disable CA1859

namespace Sdar.Templates;

/// <summary>
/// The Python methods chat templates call on values: str (<c>strip</c>, <c>split</c>, <c>startswith</c>, ...),
/// dict (<c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>) and read-only list methods. Lists and dicts are
/// immutable here, as in transformers' ImmutableSandboxedEnvironment.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> StringMethods =
    [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower", "title",
        "capitalize", "swapcase", "replace", "find", "rfind", "count", "join", "isdigit", "isalpha", "isalnum", "isspace",
        "isupper", "islower", "removeprefix", "removesuffix",
    ];

    private static readonly HashSet<string> DictMethods = ["get", "items", "keys", "values"];
    private static readonly HashSet<string> ListMethods = ["index", "count"];

    public static bool IsStringMethod(string name) => StringMethods.Contains(name);
    public static bool IsDictMethod(string name) => DictMethods.Contains(name);
    public static bool IsListMethod(string name) => ListMethods.Contains(name);

    public static object? Invoke(object receiver, string name, CallArgs args) => receiver switch
    {
        string s => InvokeString(s, name, args),
        IReadOnlyDictionary<string, object?> d => InvokeDict(d, name, args),
        IReadOnlyList<object?> l => InvokeList(l, name, args),
        _ => throw args.Error($"{PyOps.TypeName(receiver)} has no method '{name}'"),
    };

    private static object? InvokeDict(IReadOnlyDictionary<string, object?> d, string name, CallArgs args)
    {
        switch (name)
        {
            case "get":
                args.Expect("key", "default");
                object? key = args.Get(0, "key", new Undefined("key"));
                return key is string k && d.TryGetValue(k, out object? v) ? v : args.Get(1, "default");
            case "items":
                args.Expect();
                return d.Select(kv => (object?)new JinjaTuple([kv.Key, kv.Value])).ToList();
            case "keys":
                args.Expect();
                return d.Keys.Cast<object?>().ToList();
            default:
                args.Expect();
                return d.Values.ToList();
        }
    }

    private static object? InvokeList(IReadOnlyList<object?> l, string name, CallArgs args)
    {
        args.Expect("value");
        object? value = args.Get(0, "value");
        if (name == "count") return (long)l.Count(x => PyOps.AreEqual(x, value));
        for (int i = 0; i < l.Count; i++) if (PyOps.AreEqual(l[i], value)) return (long)i;
        throw args.Error($"{PyFormat.Repr(value)} is not in list");
    }

    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    private static object? InvokeString(string s, string name, CallArgs args)
    {
        switch (name)
        {
            case "strip" or "lstrip" or "rstrip":
                args.Expect("chars");
                string? chars = args.Get(0, "chars") as string;
                Func<char, bool> strip = chars is null ? IsSpace : c => chars.Contains(c, StringComparison.Ordinal);
                int start = 0, end = s.Length;
                if (name != "rstrip") while (start < end && strip(s[start])) start++;
                if (name != "lstrip") while (end > start && strip(s[end - 1])) end--;
                return s[start..end];
            case "split" or "rsplit":
                args.Expect("sep", "maxsplit");
                string? sep = args.Get(0, "sep") as string;
                long maxSplit = args.GetInt(1, "maxsplit", -1);
                if (sep is { Length: 0 }) throw args.Error("empty separator");
                var parts = sep is null ? SplitWhitespace(s, maxSplit, name == "rsplit") : SplitSeparator(s, sep, maxSplit, name == "rsplit");
                return parts.Cast<object?>().ToList();
            case "splitlines":
                args.Expect("keepends");
                return SplitLines(s, PyOps.IsTrue(args.Get(0, "keepends", false))).Cast<object?>().ToList();
            case "startswith" or "endswith":
                args.Expect("prefix");
                object? affix = args.Get(0, "prefix");
                IEnumerable<object?> options = affix is JinjaTuple t ? t : [affix];
                return options.Any(o => o is string a
                    ? (name == "startswith" ? s.StartsWith(a, StringComparison.Ordinal) : s.EndsWith(a, StringComparison.Ordinal))
                    : throw args.Error($"argument must be a string or a tuple of strings, got {PyOps.TypeName(o)}"));
            case "upper": args.Expect(); return s.ToUpperInvariant();
            case "lower": args.Expect(); return s.ToLowerInvariant();
            case "swapcase": args.Expect(); return string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
            case "title": args.Expect(); return Title(s);
            case "capitalize": args.Expect(); return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();
            case "replace":
                args.Expect("old", "new", "count");
                return Replace(s, args.GetString(0, "old"), args.GetString(1, "new"), args.GetInt(2, "count", -1), args);
            case "find" or "rfind":
                args.Expect("sub");
                string sub = args.GetString(0, "sub");
                int at = name == "find" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal);
                return at < 0 ? -1L : (long)PyOps.Length(s[..at]);
            case "count":
                args.Expect("sub");
                string needle = args.GetString(0, "sub");
                if (needle.Length == 0) return (long)PyOps.Length(s) + 1;
                long n = 0;
                for (int i = s.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = s.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
                return n;
            case "join":
                args.Expect("iterable");
                var pieces = PyOps.Iterate(args.Get(0, "iterable"), args.Line).Select(x =>
                    x as string ?? throw args.Error($"join expects strings, got {PyOps.TypeName(x)}")).ToList();
                args.CheckString(pieces.Sum(t => (long)t.Length) + ((long)s.Length * Math.Max(0, pieces.Count - 1)), "joining");
                return string.Join(s, pieces);
            case "removeprefix": args.Expect("prefix"); string p = args.GetString(0, "prefix"); return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
            case "removesuffix": args.Expect("suffix"); string x = args.GetString(0, "suffix"); return x.Length > 0 && s.EndsWith(x, StringComparison.Ordinal) ? s[..^x.Length] : s;
            case "isdigit": args.Expect(); return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": args.Expect(); return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": args.Expect(); return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": args.Expect(); return s.Length > 0 && s.All(IsSpace);
            case "isupper": args.Expect(); return s.Any(char.IsLetter) && !s.Any(char.IsLower);
            case "islower": args.Expect(); return s.Any(char.IsLetter) && !s.Any(char.IsUpper);
            default: throw args.Error($"str has no method '{name}'");
        }
    }

    /// <summary>Python str.title(): each run of letters starts upper-case and continues lower-case.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousLetter = false;
        foreach (char c in s)
        {
            sb.Append(previousLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    public static string Replace(string s, string old, string replacement, long count, CallArgs args)
    {
        long occurrences = old.Length == 0 ? PyOps.Length(s) + 1L : CountOccurrences(s, old);
        if (count >= 0) occurrences = Math.Min(occurrences, count);
        args.CheckString(s.Length + (occurrences * (replacement.Length - old.Length)), "replacing");
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        if (old.Length == 0) return InsertEverywhere(s, replacement, count);
        var sb = new StringBuilder();
        int pos = 0;
        for (long done = 0; done < count; done++)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, pos, i - pos).Append(replacement);
            pos = i + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static long CountOccurrences(string s, string needle)
    {
        long n = 0;
        for (int i = s.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = s.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string InsertEverywhere(string s, string insert, long count)
    {
        var sb = new StringBuilder();
        long done = 0;
        foreach (string c in PyOps.Chars(s))
        {
            if (done++ < count) sb.Append(insert);
            sb.Append(c);
        }
        if (done < count) sb.Append(insert);
        return sb.ToString();
    }

    private static List<string> SplitSeparator(string s, string sep, long maxSplit, bool fromRight)
    {
        var parts = s.Split(sep).ToList();
        if (maxSplit < 0 || parts.Count - 1 <= maxSplit) return parts;
        int keep = (int)maxSplit;
        if (!fromRight) return [.. parts.Take(keep), string.Join(sep, parts.Skip(keep))];
        return [string.Join(sep, parts.Take(parts.Count - keep)), .. parts.Skip(parts.Count - keep)];
    }

    /// <summary>str.split() with no separator: runs of whitespace separate, and leading/trailing whitespace is dropped.</summary>
    private static List<string> SplitWhitespace(string s, long maxSplit, bool fromRight)
    {
        var parts = new List<string>();
        if (fromRight)
        {
            int end = s.Length;
            while (true)
            {
                while (end > 0 && IsSpace(s[end - 1])) end--;
                if (end == 0) break;
                if (maxSplit >= 0 && parts.Count == maxSplit) { parts.Add(s[..end]); break; }
                int start = end;
                while (start > 0 && !IsSpace(s[start - 1])) start--;
                parts.Add(s[start..end]);
                end = start;
            }
            parts.Reverse();
            return parts;
        }
        int i = 0;
        while (true)
        {
            while (i < s.Length && IsSpace(s[i])) i++;
            if (i == s.Length) break;
            if (maxSplit >= 0 && parts.Count == maxSplit) { parts.Add(s[i..]); break; }
            int start = i;
            while (i < s.Length && !IsSpace(s[i])) i++;
            parts.Add(s[start..i]);
        }
        return parts;
    }

    private static List<string> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')) continue;
            int eol = c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? i + 2 : i + 1;
            lines.Add(keepEnds ? s[start..eol] : s[start..i]);
            start = eol;
            i = eol - 1;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }
}
