using System.Runtime.CompilerServices;
using System.Text;

namespace Sdar.Templates;

/// <summary>
/// Variables visible at one point of a render. As in Jinja2, each for-loop iteration, macro call and with-block
/// gets a child frame, so <c>{% set %}</c> inside them stays local; <c>if</c> blocks share their parent's frame.
/// </summary>
internal sealed class Frame(Frame? parent)
{
    private readonly Frame? _parent = parent;
    private readonly Dictionary<string, object?> _vars = [];

    public bool TryGet(string name, out object? value)
    {
        for (Frame? f = this; f is not null; f = f._parent)
            if (f._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;
}

/// <summary>Runs a parsed template: statements write to a StringBuilder, expressions evaluate to Python-like values.</summary>
internal sealed partial class Interpreter
{
    private enum Flow { Normal, Break, Continue }

    private readonly Frame _root;

    public Interpreter(IReadOnlyDictionary<string, object?> variables, RenderBudget budget)
    {
        Budget = budget;
        var builtins = new Frame(null);
        foreach (var (name, function) in Globals.Functions) builtins.Set(name, function);
        _root = new Frame(builtins);
        foreach (var (name, value) in variables) _root.Set(name, value);
    }

    public RenderBudget Budget { get; }

    public string Render(IReadOnlyList<Stmt> body)
    {
        var output = new StringBuilder();
        Exec(body, _root, output);
        return output.ToString();
    }

    private Flow Exec(IReadOnlyList<Stmt> body, Frame frame, StringBuilder output)
    {
        foreach (Stmt stmt in body)
        {
            Flow flow = Exec(stmt, frame, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    /// <summary>Runs one statement; a .NET exception from inside it becomes a <see cref="TemplateException"/> on its line.</summary>
    private Flow Exec(Stmt stmt, Frame frame, StringBuilder output)
    {
        EnsureStack(stmt.Line);
        Budget.Tick(stmt.Line);
        try
        {
            return ExecCore(stmt, frame, output);
        }
        catch (Exception e) when (e is not TemplateException)
        {
            throw AsTemplateError(e, stmt.Line);
        }
    }

    private Flow ExecCore(Stmt stmt, Frame frame, StringBuilder output)
    {
        switch (stmt)
        {
            case TextStmt t: Write(output, t.Text, t.Line); return Flow.Normal;
            case PrintStmt p: Write(output, PyFormat.Str(Eval(p.Value, frame), Budget), p.Line); return Flow.Normal;
            case IfStmt s:
                foreach (var (test, branch) in s.Branches)
                    if (PyOps.IsTrue(Eval(test, frame))) return Exec(branch, frame, output);
                return Exec(s.Else, frame, output);
            case ForStmt f: ExecFor(f, frame, output); return Flow.Normal;
            case SetStmt s: Assign(s.Target, Eval(s.Value, frame), frame); return Flow.Normal;
            case SetBlockStmt s:
                Assign(s.Target, ApplyFilterChain(s.Filters, RenderToString(s.Body, new Frame(frame)), frame), frame);
                return Flow.Normal;
            case MacroStmt m: frame.Set(m.Name, new Macro(m.Name, m.Parameters, m.Defaults, m.Body, frame)); return Flow.Normal;
            case CallBlockStmt c:
                var caller = new Macro("caller", c.Parameters, c.Defaults, c.Body, frame);
                Write(output, PyFormat.Str(EvalCall(c.Call, frame, caller), Budget), c.Line);
                return Flow.Normal;
            case FilterBlockStmt fb:
                Write(output, PyFormat.Str(ApplyFilterChain(fb.Filters, RenderToString(fb.Body, new Frame(frame)), frame), Budget), fb.Line);
                return Flow.Normal;
            case WithStmt w:
                var inner = new Frame(frame);
                foreach (var (target, value) in w.Assignments) Assign(target, Eval(value, frame), inner);
                return Exec(w.Body, inner, output);
            case GenerationStmt g: return Exec(g.Body, frame, output);
            case BreakStmt: return Flow.Break;
            case ContinueStmt: return Flow.Continue;
            default: throw new TemplateException($"unsupported statement {stmt.GetType().Name}", stmt.Line);
        }
    }

    /// <summary>Appends rendered text, refusing to grow it past the output limit.</summary>
    private void Write(StringBuilder output, string text, int line)
    {
        Budget.CheckOutput((long)output.Length + text.Length, line);
        output.Append(text);
    }

    /// <summary>
    /// The backstop for nesting the parser's limit does not see (values nested in values, deep call chains): a
    /// clean error while there is still stack, since a stack overflow would end the process.
    /// </summary>
    internal static void EnsureStack(int line)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateException("the template nests too deeply to evaluate", line);
    }

    /// <summary>Names a .NET failure in template terms, so a bad template never surfaces as a stack trace.</summary>
    internal static TemplateException AsTemplateError(Exception e, int line) => e switch
    {
        TemplateException t => t,
        // List.Sort wraps what its comparer throws (a TypeError comparing str with int) in an InvalidOperationException.
        { InnerException: TemplateException inner } => inner,
        TemplateLimitException l => new TemplateException(l.Message, line),
        DivideByZeroException => new TemplateException("division by zero", line),
        OverflowException => new TemplateException("a number is out of range", line),
        InsufficientExecutionStackException => new TemplateException("the template nests too deeply to evaluate", line),
        OutOfMemoryException => new TemplateException("the template ran out of memory", line),
        InvalidCastException => new TemplateException($"a value has the wrong type ({e.Message})", line),
        _ => new TemplateException($"{e.GetType().Name}: {e.Message}", line),
    };

    internal string RenderToString(IReadOnlyList<Stmt> body, Frame frame)
    {
        var sb = new StringBuilder();
        Exec(body, frame, sb);
        return sb.ToString();
    }

    private object? ApplyFilterChain(IReadOnlyList<FilterExpr> filters, object? value, Frame frame)
    {
        foreach (FilterExpr f in filters) value = ApplyFilter(f, value, frame);
        return value;
    }

    private void ExecFor(ForStmt f, Frame frame, StringBuilder output)
    {
        object? iterable = Eval(f.Iterable, frame);
        // A string is iterated as a list of its characters: refuse one longer than a list may be before building it.
        if (iterable is string text) Budget.CheckList(text.Length, f.Line, "iterating over a string");
        IReadOnlyList<object?> items = PyOps.Iterate(iterable, f.Iterable.Line);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (object? item in items)
            {
                Budget.CountIteration(f.Line);
                var probe = new Frame(frame);
                Assign(f.Target, item, probe);
                if (PyOps.IsTrue(Eval(f.Filter, probe))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            Exec(f.Else, new Frame(frame), output);
            return;
        }
        var loop = new LoopContext(items);
        for (int i = 0; i < items.Count; i++)
        {
            Budget.CountIteration(f.Line);
            var iteration = new Frame(frame);
            Assign(f.Target, items[i], iteration);
            loop.Index0 = i;
            iteration.Set("loop", loop);
            if (Exec(f.Body, iteration, output) == Flow.Break) break;
        }
    }

    private static void Assign(Target target, object? value, Frame frame)
    {
        switch (target)
        {
            case NameTarget n:
                frame.Set(n.Name, value);
                break;
            case TupleTarget t:
                IReadOnlyList<object?> values = value is string or IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>
                    ? PyOps.Iterate(value, t.Line)
                    : throw new TemplateException($"cannot unpack {PyOps.TypeName(value)} into {t.Items.Count} variables", t.Line);
                if (values.Count != t.Items.Count)
                    throw new TemplateException(values.Count > t.Items.Count
                        ? $"too many values to unpack (expected {t.Items.Count}, got {values.Count})"
                        : $"not enough values to unpack (expected {t.Items.Count}, got {values.Count})", t.Line);
                for (int i = 0; i < values.Count; i++) Assign(t.Items[i], values[i], frame);
                break;
            case AttributeTarget a:
                if (!frame.TryGet(a.Name, out object? obj) || obj is not Namespace ns)
                    throw new TemplateException($"cannot set '{a.Name}.{a.Attribute}': '{a.Name}' is not a namespace() object", a.Line);
                ns.Attributes[a.Attribute] = value;
                break;
        }
    }

    /// <summary>A macro defined with {% macro %} (or the body of a {% call %} block, as <c>caller</c>).</summary>
    private sealed class Macro(string name, IReadOnlyList<string> parameters, IReadOnlyList<Expr?> defaults, IReadOnlyList<Stmt> body, Frame closure)
        : ICallable
    {
        public object? Call(Interpreter interpreter, CallArgs args)
        {
            var frame = new Frame(closure);
            for (int i = 0; i < parameters.Count; i++)
            {
                string p = parameters[i];
                if (i < args.Positional.Count) frame.Set(p, args.Positional[i]);
                else if (args.Keywords.TryGetValue(p, out object? v)) frame.Set(p, v);
                else frame.Set(p, defaults[i] is Expr d ? interpreter.Eval(d, frame) : new Undefined(p));
            }
            var extraPositional = args.Positional.Skip(parameters.Count).ToList();
            var extraKeywords = args.Keywords.Where(kv => !parameters.Contains(kv.Key) && kv.Key != "caller")
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            frame.Set("varargs", new JinjaTuple(extraPositional));
            frame.Set("kwargs", extraKeywords);
            if (args.Keywords.TryGetValue("caller", out object? caller)) frame.Set("caller", caller);
            interpreter.Budget.EnterCall(name, args.Line);
            try { return interpreter.RenderToString(body, frame); }
            finally { interpreter.Budget.ExitCall(); }
        }

        public override string ToString() => $"macro {name}";
    }
}
