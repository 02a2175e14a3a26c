namespace Sdar.Templates;

/// <summary>Jinja2's tests, used as <c>value is name(args)</c> and by select/reject. Python's type rules apply:
/// a bool is a number but not an integer; strings and dicts are sequences; undefined is iterable.</summary>
internal static class Predicates
{
    private delegate bool Test(object? value, IReadOnlyList<object?> args, int line);

    private static readonly Dictionary<string, Test> Table = new()
    {
        ["defined"] = (v, _, _) => v is not Undefined,
        ["undefined"] = (v, _, _) => v is Undefined,
        ["none"] = (v, _, _) => v is null,
        ["boolean"] = (v, _, _) => v is bool,
        ["true"] = (v, _, _) => v is true,
        ["false"] = (v, _, _) => v is false,
        ["integer"] = (v, _, _) => v is long,
        ["float"] = (v, _, _) => v is double,
        ["number"] = (v, _, _) => v is long or double or bool,
        ["string"] = (v, _, _) => v is string,
        ["mapping"] = (v, _, _) => v is IReadOnlyDictionary<string, object?>,
        ["iterable"] = (v, _, _) => v is string or IReadOnlyList<object?> or IReadOnlyDictionary<string, object?> or Undefined,
        ["sequence"] = (v, _, _) => v is string or IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>,
        ["callable"] = (v, _, _) => v is ICallable,
        ["odd"] = (v, _, line) => Integer(v, "odd", line) % 2 != 0,
        ["even"] = (v, _, line) => Integer(v, "even", line) % 2 == 0,
        ["divisibleby"] = (v, a, line) => Integer(Arg(a, "divisibleby", line), "divisibleby", line) is long d && d != 0
            ? Integer(v, "divisibleby", line) % d == 0
            : throw new TemplateException("test 'divisibleby' needs a non-zero divisor", line),
        ["lower"] = (v, _, _) => v is string s && s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        ["upper"] = (v, _, _) => v is string s && s.Any(char.IsLetter) && !s.Any(char.IsLower),
        ["sameas"] = (v, a, line) => SameAs(v, Arg(a, "sameas", line)),
        ["in"] = (v, a, line) => PyOps.Contains(Arg(a, "in", line), v, line),
        ["eq"] = (v, a, line) => PyOps.AreEqual(v, Arg(a, "eq", line)),
        ["ne"] = (v, a, line) => !PyOps.AreEqual(v, Arg(a, "ne", line)),
        ["lt"] = (v, a, line) => PyOps.Compare(v, Arg(a, "lt", line), "<", line) < 0,
        ["le"] = (v, a, line) => PyOps.Compare(v, Arg(a, "le", line), "<=", line) <= 0,
        ["gt"] = (v, a, line) => PyOps.Compare(v, Arg(a, "gt", line), ">", line) > 0,
        ["ge"] = (v, a, line) => PyOps.Compare(v, Arg(a, "ge", line), ">=", line) >= 0,
        ["escaped"] = (_, _, _) => false,
    };

    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["equalto"] = "eq", ["=="] = "eq", ["!="] = "ne", ["lessthan"] = "lt", ["<"] = "lt", ["<="] = "le",
        ["greaterthan"] = "gt", [">"] = "gt", [">="] = "ge",
    };

    public static bool Apply(string name, object? value, IReadOnlyList<object?> args, int line)
    {
        string canonical = Aliases.GetValueOrDefault(name, name);
        return Table.TryGetValue(canonical, out Test? test) ? test(value, args, line) : throw new TemplateException($"unknown test '{name}'", line);
    }

    private static object? Arg(IReadOnlyList<object?> args, string test, int line) =>
        args.Count == 1 ? args[0] : throw new TemplateException($"test '{test}' takes exactly one argument, got {args.Count}", line);

    private static long Integer(object? v, string test, int line) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        Undefined u => throw new TemplateException($"'{u.Name}' is undefined", line),
        _ => throw new TemplateException($"test '{test}' needs an integer, got {PyOps.TypeName(v)}", line),
    };

    /// <summary>Python's <c>is</c>: identity for containers, value identity for None, booleans and small values.</summary>
    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y,
        (string x, string y) => x == y,
        _ => ReferenceEquals(a, b),
    };
}
