using System.Collections;

namespace Sdar.Templates;

// Runtime values are Python-like: null (None), bool, long, double, string, IReadOnlyList<object?> (list; a
// JinjaTuple is a tuple), IReadOnlyDictionary<string, object?> (dict, insertion-ordered), plus the types below.

/// <summary>
/// Jinja's default Undefined: falsy, renders as "", iterates as empty, <c>is defined</c> is false. Here an
/// attribute or item of it is undefined too (lenient, like @huggingface/jinja); arithmetic on it is an error.
/// </summary>
internal sealed class Undefined(string name)
{
    /// <summary>What was undefined, for error messages: "'foo' is undefined".</summary>
    public string Name { get; } = name;

    public override string ToString() => "";
}

/// <summary>A tuple: like a list, but renders as (a, b) and compares equal only to tuples.</summary>
internal sealed class JinjaTuple(IReadOnlyList<object?> items) : IReadOnlyList<object?>
{
    private readonly IReadOnlyList<object?> _items = items;

    public object? this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<object?> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary><c>namespace(a=1)</c>: the only object whose attributes a template may assign (<c>{% set ns.a = 2 %}</c>).</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = [];
}

/// <summary>Anything a template can call: macros, globals such as <c>range</c>, and bound methods like <c>s.strip</c>.</summary>
internal interface ICallable
{
    object? Call(Interpreter interpreter, CallArgs args);
}

/// <summary>A built-in function exposed to templates.</summary>
internal sealed class NativeFunction(string name, Func<Interpreter, CallArgs, object?> body) : ICallable
{
    public string Name { get; } = name;
    public object? Call(Interpreter interpreter, CallArgs args) => body(interpreter, args);
}

/// <summary>A method looked up on a value (<c>message.content.strip</c>); calling it runs <see cref="Methods"/>.</summary>
internal sealed class BoundMethod(object receiver, string name) : ICallable
{
    public object Receiver { get; } = receiver;
    public string Name { get; } = name;
    public object? Call(Interpreter interpreter, CallArgs args) => Methods.Invoke(Receiver, Name, args);
}

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items)
{
    private readonly IReadOnlyList<object?> _items = items;
    public int Index0 { get; set; }

    public object? GetAttribute(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "revindex0" => (long)(_items.Count - Index0 - 1),
        "revindex" => (long)(_items.Count - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == _items.Count - 1,
        "length" => (long)_items.Count,
        "depth0" => 0L,   // recursive loops are not supported, so every loop is at depth 1
        "depth" => 1L,
        "previtem" => Index0 > 0 ? _items[Index0 - 1] : new Undefined("loop.previtem"),
        "nextitem" => Index0 < _items.Count - 1 ? _items[Index0 + 1] : new Undefined("loop.nextitem"),
        "cycle" => new NativeFunction("loop.cycle", (_, a) =>
            a.Positional.Count == 0 ? throw a.Error("loop.cycle() needs at least one argument") : a.Positional[Index0 % a.Positional.Count]),
        _ => new Undefined($"loop.{name}"),
    };
}

/// <summary>Positional and keyword arguments of one call, with helpers that report bad calls by name.</summary>
internal sealed class CallArgs(string callee, IReadOnlyList<object?> positional, IReadOnlyDictionary<string, object?> keywords, int line,
    RenderBudget? budget = null)
{
    /// <summary>The render's budget, for functions whose result size depends on their arguments; null outside a render.</summary>
    public RenderBudget? Budget { get; } = budget;

    /// <summary>Refuses a result string of <paramref name="length"/> characters before it is built.</summary>
    public void CheckString(long length, string operation) => Budget?.CheckString(length, Line, $"{Callee}: {operation}");

    /// <summary>Refuses a result list of <paramref name="count"/> items before it is built.</summary>
    public void CheckList(long count, string operation) => Budget?.CheckList(count, Line, $"{Callee}: {operation}");

    public string Callee { get; } = callee;
    public IReadOnlyList<object?> Positional { get; } = positional;
    public IReadOnlyDictionary<string, object?> Keywords { get; } = keywords;
    public int Line { get; } = line;

    public static readonly IReadOnlyDictionary<string, object?> NoKeywords = new Dictionary<string, object?>();

    public TemplateException Error(string message) => new($"{Callee}: {message}", Line);

    /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index < Positional.Count) return Positional[index];
        return Keywords.TryGetValue(name, out object? v) ? v : fallback;
    }

    /// <summary>Rejects more positional arguments than <paramref name="names"/> or keywords not among them.</summary>
    public CallArgs Expect(params string[] names)
    {
        if (Positional.Count > names.Length)
            throw Error($"takes at most {names.Length} argument{(names.Length == 1 ? "" : "s")}, got {Positional.Count}");
        foreach (string key in Keywords.Keys)
            if (!names.Contains(key)) throw Error($"unexpected keyword argument '{key}'");
        return this;
    }

    public string GetString(int index, string name, string? fallback = null)
    {
        object? v = Get(index, name, fallback);
        return v as string ?? throw Error($"argument '{name}' must be a string, got {PyOps.TypeName(v)}");
    }

    public long GetInt(int index, string name, long fallback)
    {
        object? v = Get(index, name, fallback);
        return v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            _ => throw Error($"argument '{name}' must be an integer, got {PyOps.TypeName(v)}"),
        };
    }
}
