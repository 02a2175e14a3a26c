using System.Globalization;
using System.Text;

// Filters and functions share one signature (object? in, object? out), so narrower return types do not help.
#pragma warning disable CA1859

namespace Sdar.Templates;

/// <summary>
/// Functions every template sees: Jinja2's <c>range</c>, <c>namespace</c>, <c>dict</c>, and the two that
/// transformers adds for chat templates, <c>raise_exception</c> and <c>strftime_now</c>.
/// </summary>
internal static class Globals
{
    /// <summary>The sandbox's limit on range() (jinja2.sandbox.MAX_RANGE), outside a render; a render uses its list limit.</summary>
    private const long MaxRange = 100_000;

    public static readonly IReadOnlyDictionary<string, ICallable> Functions = new Dictionary<string, ICallable>
    {
        ["range"] = new NativeFunction("range", Range),
        ["namespace"] = new NativeFunction("namespace", (_, a) =>
        {
            var ns = new Namespace();
            foreach (var (k, v) in MakeDict(a)) ns.Attributes[k] = v;
            return ns;
        }),
        ["dict"] = new NativeFunction("dict", (_, a) => MakeDict(a)),
        ["raise_exception"] = new NativeFunction("raise_exception", (_, a) =>
            throw new TemplateException($"the template raised an error: {PyFormat.Str(a.Get(0, "message", ""))}", a.Line)),
        ["strftime_now"] = new NativeFunction("strftime_now", (_, a) => Strftime(DateTime.Now, a.Expect("format").GetString(0, "format"), a)),
    };

    private static object? Range(Interpreter _, CallArgs a)
    {
        a.Expect("start", "stop", "step");
        long start = 0, step = 1, stop;
        switch (a.Positional.Count)
        {
            case 1: stop = a.GetInt(0, "stop", 0); break;
            case 2: start = a.GetInt(0, "start", 0); stop = a.GetInt(1, "stop", 0); break;
            case 3: start = a.GetInt(0, "start", 0); stop = a.GetInt(1, "stop", 0); step = a.GetInt(2, "step", 1); break;
            default: throw a.Error($"expected 1 to 3 integer arguments, got {a.Positional.Count}");
        }
        if (step == 0) throw a.Error("step must not be zero");
        // In 128 bits: range(-2**62, 2**62) must not wrap around to a small count.
        Int128 span = step > 0 ? (Int128)stop - start + step - 1 : (Int128)start - stop - step - 1;
        long count = (long)Int128.Clamp(span / Int128.Abs(step), 0, long.MaxValue);
        if (a.Budget is null && count > MaxRange) throw a.Error($"a range of {count} items is more than the allowed {MaxRange}");
        a.CheckList(count, "range");
        var items = new List<object?>((int)count);
        for (long i = 0; i < count; i++) items.Add(start + (i * step));
        return items;
    }

    private static Dictionary<string, object?> MakeDict(CallArgs a)
    {
        var dict = new Dictionary<string, object?>();
        if (a.Positional.Count > 1) throw a.Error($"expected at most 1 positional argument, got {a.Positional.Count}");
        if (a.Positional.Count == 1)
        {
            if (a.Positional[0] is not IReadOnlyDictionary<string, object?> source) throw a.Error($"expected a mapping, got {PyOps.TypeName(a.Positional[0])}");
            foreach (var (k, v) in source) dict[k] = v;
        }
        foreach (var (k, v) in a.Keywords) dict[k] = v;
        return dict;
    }

    /// <summary>Python's strftime for the directives chat templates use (%d %b %Y and friends), C locale.</summary>
    internal static string Strftime(DateTime t, string format, CallArgs a)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { sb.Append(format[i]); continue; }
            char d = format[++i];
            sb.Append(d switch
            {
                'a' => t.ToString("ddd", c),
                'A' => t.ToString("dddd", c),
                'b' or 'h' => t.ToString("MMM", c),
                'B' => t.ToString("MMMM", c),
                'd' => t.ToString("dd", c),
                'e' => t.Day.ToString(c).PadLeft(2),
                'm' => t.ToString("MM", c),
                'y' => t.ToString("yy", c),
                'Y' => t.Year.ToString(c),
                'H' => t.ToString("HH", c),
                'I' => t.ToString("hh", c),
                'M' => t.ToString("mm", c),
                'S' => t.ToString("ss", c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("000", c),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
                'w' => ((int)t.DayOfWeek).ToString(c),
                'F' => t.ToString("yyyy-MM-dd", c),
                'T' => t.ToString("HH:mm:ss", c),
                'D' => t.ToString("MM/dd/yy", c),
                '%' => "%",
                _ => throw a.Error($"unsupported strftime directive '%{d}'"),
            });
        }
        return sb.ToString();
    }
}
