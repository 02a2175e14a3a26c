using System.Text;

namespace Sdar.Templates;

/// <summary>
/// Python semantics for template values (Jinja2 evaluates expressions as Python does): truthiness, equality,
/// ordering, arithmetic, membership, iteration, indexing and slicing. Strings index by code point, as in Python.
/// </summary>
internal static class PyOps
{
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        JinjaTuple => "tuple",
        IReadOnlyList<object?> => "list",
        IReadOnlyDictionary<string, object?> => "dict",
        Undefined => "undefined",
        Namespace => "namespace",
        LoopContext => "loop",
        ICallable => "function",
        _ => v.GetType().Name,
    };

    public static bool IsTrue(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyList<object?> l => l.Count > 0,
        IReadOnlyDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    private static double ToDouble(object v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => throw new InvalidCastException() };

    private static long ToLong(object v) => v switch { long l => l, bool b => b ? 1 : 0, _ => throw new InvalidCastException() };

    private static bool BothInts(object a, object b) => a is long or bool && b is long or bool;

    public static bool AreEqual(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b)) return BothInts(a, b) ? ToLong(a) == ToLong(b) : ToDouble(a) == ToDouble(b);
        if (a is string sa) return b is string sb && sa == sb;
        if (a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb)
        {
            if (a is JinjaTuple != b is JinjaTuple || la.Count != lb.Count) return false;
            for (int i = 0; i < la.Count; i++) if (!AreEqual(la[i], lb[i])) return false;
            return true;
        }
        if (a is IReadOnlyDictionary<string, object?> da && b is IReadOnlyDictionary<string, object?> db)
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out object? v) && AreEqual(kv.Value, v));
        return ReferenceEquals(a, b);
    }

    /// <summary>Python ordering: numbers, strings (by code point), lists/tuples (lexicographic); else a TypeError.</summary>
    public static int Compare(object? a, object? b, string op, int line)
    {
        if (a is not null && b is not null && IsNumber(a) && IsNumber(b))
            return BothInts(a, b) ? ToLong(a).CompareTo(ToLong(b)) : ToDouble(a).CompareTo(ToDouble(b));
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if (a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb && a is JinjaTuple == b is JinjaTuple)
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
                if (!AreEqual(la[i], lb[i])) return Compare(la[i], lb[i], op, line);
            return la.Count.CompareTo(lb.Count);
        }
        CheckDefined(a, line);
        CheckDefined(b, line);
        throw new TemplateException($"'{op}' is not supported between {TypeName(a)} and {TypeName(b)}", line);
    }

    private static int CompareCodePoints(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext(), hb = eb.MoveNext();
            if (!ha || !hb) return ha.CompareTo(hb);
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    public static void CheckDefined(object? v, int line)
    {
        if (v is Undefined u) throw new TemplateException($"'{u.Name}' is undefined", line);
    }

    /// <summary>A binary operator; results whose size grows with the operands are checked against <paramref name="budget"/> first.</summary>
    public static object? Binary(string op, object? a, object? b, int line, RenderBudget? budget)
    {
        if (op == "~")
        {
            string sa = PyFormat.Str(a, budget), sb = PyFormat.Str(b, budget);
            budget?.CheckString((long)sa.Length + sb.Length, line, "'~'");
            return sa + sb;
        }
        CheckDefined(a, line);
        CheckDefined(b, line);
        if (a is not null && b is not null && IsNumber(a) && IsNumber(b)) return Arithmetic(op, a, b, line);
        switch (op)
        {
            case "+" when a is string sa && b is string sb:
                budget?.CheckString((long)sa.Length + sb.Length, line, "'+'");
                return sa + sb;
            case "+" when a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb && a is JinjaTuple == b is JinjaTuple:
                budget?.CheckList((long)la.Count + lb.Count, line, "'+'");
                var joined = la.Concat(lb).ToList();
                return a is JinjaTuple ? new JinjaTuple(joined) : joined;
            case "*" when a is string or IReadOnlyList<object?> && b is long or bool: return Repeat(a!, ToLong(b!), line, budget);
            case "*" when b is string or IReadOnlyList<object?> && a is long or bool: return Repeat(b!, ToLong(a!), line, budget);
        }
        if (op == "%" && a is string) throw new TemplateException("'%' string formatting is not supported; use '~' or the format filter", line);
        throw new TemplateException($"unsupported operand types for {op}: {TypeName(a)} and {TypeName(b)}", line);
    }

    /// <summary>Without a render budget (outside a render), '*' results larger than this are refused.</summary>
    private const long MaxRepeatItems = 10_000_000;

    private static object Repeat(object seq, long times, int line, RenderBudget? budget)
    {
        long unit = seq is string str ? str.Length : ((IReadOnlyList<object?>)seq).Count;
        times = Math.Max(times, 0);
        // unit * times, saturated: both are non-negative, so the product overflows only past long.MaxValue.
        long total = unit == 0 ? 0 : times > long.MaxValue / unit ? long.MaxValue : unit * times;
        if (budget is null && total > MaxRepeatItems)
            throw new TemplateException($"'*' would repeat {unit} items {times} times; the limit is {MaxRepeatItems} items", line);
        if (seq is string s)
        {
            budget?.CheckString(total, line, "'*'");
            var sb = new StringBuilder((int)total);
            for (long i = 0; i < times; i++) sb.Append(s);
            return sb.ToString();
        }
        budget?.CheckList(total, line, "'*'");
        var list = (IReadOnlyList<object?>)seq;
        var result = new List<object?>((int)total);
        for (long i = 0; i < times; i++) result.AddRange(list);
        return seq is JinjaTuple ? new JinjaTuple(result) : result;
    }

    private static object Arithmetic(string op, object a, object b, int line)
    {
        if (BothInts(a, b))
        {
            long x = ToLong(a), y = ToLong(b);
            try
            {
                checked
                {
                    switch (op)
                    {
                        case "+": return x + y;
                        case "-": return x - y;
                        case "*": return x * y;
                        case "/": return y == 0 ? throw DivisionByZero(line) : (double)x / y;
                        case "//": return y == 0 ? throw DivisionByZero(line) : FloorDiv(x, y);
                        case "%": return y == 0 ? throw DivisionByZero(line) : x - (y * FloorDiv(x, y));
                        case "**": return y >= 0 ? (object)IntPow(x, y) : Math.Pow(x, y);
                    }
                }
            }
            catch (OverflowException) { throw new TemplateException($"integer overflow in '{op}'", line); }
        }
        double p = ToDouble(a), q = ToDouble(b);
        switch (op)
        {
            case "+": return p + q;
            case "-": return p - q;
            case "*": return p * q;
            case "/": return q == 0 ? throw DivisionByZero(line) : p / q;
            case "//": return q == 0 ? throw DivisionByZero(line) : Math.Floor(p / q);
            case "%":
                if (q == 0) throw DivisionByZero(line);
                double m = p % q;
                return m != 0 && (m < 0) != (q < 0) ? m + q : m;
            case "**": return Math.Pow(p, q);
        }
        throw new TemplateException($"unknown operator '{op}'", line);
    }

    private static long FloorDiv(long x, long y)
    {
        long d = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? d - 1 : d;
    }

    /// <summary>x ** y by squaring: at most 63 squarings, so <c>1 ** 10**18</c> is as quick as <c>2 ** 3</c>.</summary>
    private static long IntPow(long x, long y)
    {
        long result = 1;
        checked
        {
            while (y > 0)
            {
                if ((y & 1) != 0) result *= x;
                y >>= 1;
                if (y > 0) x *= x;
            }
        }
        return result;
    }

    private static TemplateException DivisionByZero(int line) => new("division by zero", line);

    public static object? Unary(string op, object? v, int line)
    {
        CheckDefined(v, line);
        return (op, v) switch
        {
            ("-", long l) => -l,
            ("-", double d) => -d,
            ("-", bool b) => b ? -1L : 0L,
            ("+", long or double) => v,
            ("+", bool b) => b ? 1L : 0L,
            _ => throw new TemplateException($"bad operand type for unary {op}: {TypeName(v)}", line),
        };
    }

    /// <summary>Python's <c>needle in haystack</c>.</summary>
    public static bool Contains(object? haystack, object? needle, int line) => haystack switch
    {
        string s when needle is string n => s.Contains(n, StringComparison.Ordinal),
        string => throw new TemplateException($"'in <string>' requires a string on the left, got {TypeName(needle)}", line),
        IReadOnlyList<object?> l => l.Any(x => AreEqual(x, needle)),
        IReadOnlyDictionary<string, object?> d => needle is string k && d.ContainsKey(k),
        Undefined => false,
        _ => throw new TemplateException($"argument of type '{TypeName(haystack)}' is not iterable", line),
    };

    /// <summary>The items a for loop visits: list/tuple items, dict keys, string characters; undefined is empty.</summary>
    public static IReadOnlyList<object?> Iterate(object? v, int line) => v switch
    {
        IReadOnlyList<object?> l => l,
        IReadOnlyDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
        string s => Chars(s).Cast<object?>().ToList(),
        Undefined => [],
        _ => throw new TemplateException($"'{TypeName(v)}' object is not iterable", line),
    };

    /// <summary>The code points of a string, each as a string (Python's view of str).</summary>
    public static IReadOnlyList<string> Chars(string s)
    {
        var list = new List<string>(s.Length);
        foreach (Rune r in s.EnumerateRunes()) list.Add(r.ToString());
        return list;
    }

    public static bool HasSurrogates(string s)
    {
        foreach (char c in s) if (char.IsSurrogate(c)) return true;
        return false;
    }

    public static int Length(string s) => HasSurrogates(s) ? Chars(s).Count : s.Length;

    /// <summary>Python's slice.indices: clamps start/stop for a sequence of <paramref name="length"/> items.</summary>
    public static IEnumerable<int> SliceIndices(long? start, long? stop, long? step, int length, int line)
    {
        long st = step ?? 1;
        if (st == 0) throw new TemplateException("slice step cannot be zero", line);
        long Clamp(long? v, long dflt)
        {
            if (v is not long x) return dflt;
            if (x < 0) x += length;
            return st > 0 ? Math.Clamp(x, 0, length) : Math.Clamp(x, -1, length - 1);
        }
        long a = Clamp(start, st > 0 ? 0 : length - 1);
        long b = Clamp(stop, st > 0 ? length : -1);
        for (long i = a; st > 0 ? i < b : i > b; i += st) yield return (int)i;
    }
}
