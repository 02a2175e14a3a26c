namespace Sdar.Templates;

internal sealed partial class Interpreter
{
    /// <summary>
    /// Evaluates an expression. Chains such as <c>a + b + c ...</c>, <c>a.b.c ...</c>, <c>x|f|g ...</c> or
    /// <c>x if c else y if d else ...</c> are trees as deep as the chain is long, so they are walked in a loop, not
    /// by recursion: a 10,000-term chain costs no stack. Only genuine nesting (parentheses, brackets, arguments)
    /// recurses, and the parser bounds that.
    /// </summary>
    internal object? Eval(Expr expr, Frame frame)
    {
        EnsureStack(expr.Line);
        Budget.Tick(expr.Line);
        try
        {
            while (expr is CondExpr c)
            {
                if (PyOps.IsTrue(Eval(c.Test, frame))) { expr = c.Then; continue; }
                if (c.Else is null) return new Undefined("inline if without else");
                expr = c.Else;
            }
            if (LeftOperand(expr) is not { } left) return EvalLeaf(expr, frame);
            if (LeftOperand(left) is null) return Combine(expr, EvalLeaf(left, frame), frame);
            var spine = new List<Expr>();
            for (Expr? e = expr; e is not null && LeftOperand(e) is { } operand; e = operand) spine.Add(e);
            object? value = Eval(LeftOperand(spine[^1])!, frame);
            for (int i = spine.Count - 1; i >= 0; i--)
            {
                Budget.Tick(spine[i].Line);
                value = Combine(spine[i], value, frame);
            }
            return value;
        }
        catch (Exception e) when (e is not TemplateException)
        {
            throw AsTemplateError(e, expr.Line);
        }
    }

    /// <summary>The operand evaluated first, for the node kinds that form left-leaning chains; null for the rest.</summary>
    private static Expr? LeftOperand(Expr e) => e switch
    {
        BinaryExpr b => b.Left,
        UnaryExpr u => u.Operand,
        AndExpr a => a.Left,
        OrExpr o => o.Left,
        NotExpr n => n.Operand,
        CompareExpr c => c.First,
        GetAttrExpr a => a.Object,
        GetItemExpr g => g.Object,
        FilterExpr { Value: { } v } => v,
        TestExpr t => t.Value,
        CallExpr { Callee: GetAttrExpr m } => m.Object,
        CallExpr c => c.Callee,
        _ => null,
    };

    /// <summary>Finishes a chain node given the value of its <see cref="LeftOperand"/>.</summary>
    private object? Combine(Expr node, object? left, Frame frame)
    {
        switch (node)
        {
            case BinaryExpr b: return PyOps.Binary(b.Op, left, Eval(b.Right, frame), b.Line, Budget);
            case UnaryExpr u: return PyOps.Unary(u.Op, left, u.Line);
            case AndExpr a: return PyOps.IsTrue(left) ? Eval(a.Right, frame) : left;
            case OrExpr o: return PyOps.IsTrue(left) ? left : Eval(o.Right, frame);
            case NotExpr: return !PyOps.IsTrue(left);
            case CompareExpr c: return EvalCompare(c, left, frame);
            case GetAttrExpr a: return GetAttribute(left, a.Attribute, a);
            case GetItemExpr g: return g.Key is SliceExpr slice ? Slice(left, slice, frame) : GetItem(left, Eval(g.Key, frame), g);
            case FilterExpr f: return ApplyFilter(f, left, frame);
            case TestExpr t:
                bool result = Predicates.Apply(t.Name, left, t.Args.Select(e => Eval(e, frame)).ToList(), t.Line);
                return result != t.Negated;
            case CallExpr c: return Invoke(c, CalleeOf(c, left), frame, caller: null);
            default: throw new TemplateException($"unsupported expression {node.GetType().Name}", node.Line);
        }
    }

    private object? EvalLeaf(Expr expr, Frame frame)
    {
        switch (expr)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n: return frame.TryGet(n.Name, out object? v) ? v : new Undefined(n.Name);
            case ListExpr l:
                Budget.CheckList(l.Items.Count, l.Line, "a list literal");
                return l.Items.Select(e => Eval(e, frame)).ToList();
            case TupleExpr t: return new JinjaTuple(t.Items.Select(e => Eval(e, frame)).ToList());
            case DictExpr d:
                var dict = new Dictionary<string, object?>();
                foreach (var (keyExpr, valueExpr) in d.Items)
                {
                    object? key = Eval(keyExpr, frame);
                    dict[key as string ?? throw new TemplateException($"dict keys must be strings, got {PyOps.TypeName(key)}", keyExpr.Line)]
                        = Eval(valueExpr, frame);
                }
                return dict;
            case FilterExpr f: return ApplyFilter(f, null, frame);
            case CondExpr: return Eval(expr, frame);
            case SliceExpr s: throw new TemplateException("a slice is only allowed inside '[]'", s.Line);
            default:
                return LeftOperand(expr) is { } operand
                    ? Combine(expr, Eval(operand, frame), frame)
                    : throw new TemplateException($"unsupported expression {expr.GetType().Name}", expr.Line);
        }
    }

    private bool EvalCompare(CompareExpr c, object? left, Frame frame)
    {
        foreach (var (op, rightExpr) in c.Rest)
        {
            object? right = Eval(rightExpr, frame);
            bool ok = op switch
            {
                "==" => PyOps.AreEqual(left, right),
                "!=" => !PyOps.AreEqual(left, right),
                "in" => PyOps.Contains(right, left, c.Line),
                "not in" => !PyOps.Contains(right, left, c.Line),
                "<" => PyOps.Compare(left, right, op, c.Line) < 0,
                "<=" => PyOps.Compare(left, right, op, c.Line) <= 0,
                ">" => PyOps.Compare(left, right, op, c.Line) > 0,
                ">=" => PyOps.Compare(left, right, op, c.Line) >= 0,
                _ => throw new TemplateException($"unknown comparison '{op}'", c.Line),
            };
            if (!ok) return false;
            left = right;
        }
        return true;
    }

    private object? EvalCall(CallExpr c, Frame frame, ICallable? caller)
    {
        object? receiverOrCallee = Eval(c.Callee is GetAttrExpr method ? method.Object : c.Callee, frame);
        return Invoke(c, CalleeOf(c, receiverOrCallee), frame, caller);
    }

    /// <summary>What <paramref name="c"/> calls, given its receiver (for <c>x.method()</c>) or its evaluated callee.</summary>
    private static object? CalleeOf(CallExpr c, object? left)
    {
        if (c.Callee is not GetAttrExpr method) return left;
        object? callee = GetAttribute(left, method.Attribute, method);
        if (callee is Undefined && left is not Undefined)
            throw new TemplateException($"'{PyOps.TypeName(left)}' object has no method '{method.Attribute}'", c.Line);
        return callee;
    }

    private object? Invoke(CallExpr c, object? callee, Frame frame, ICallable? caller)
    {
        var positional = c.Args.Select(e => Eval(e, frame)).ToList();
        var keywords = new Dictionary<string, object?>();
        foreach (var (name, value) in c.Kwargs) keywords[name] = Eval(value, frame);
        if (caller is not null) keywords["caller"] = caller;
        string calleeName = Describe(c.Callee);
        return callee switch
        {
            ICallable f => Checked(f.Call(this, new CallArgs(calleeName, positional, keywords, c.Line, Budget)), c.Line, calleeName),
            Undefined u => throw new TemplateException($"'{u.Name}' is undefined and cannot be called", c.Line),
            _ => throw new TemplateException($"'{calleeName}' ({PyOps.TypeName(callee)}) is not callable", c.Line),
        };
    }

    private object? Checked(object? result, int line, string operation)
    {
        Budget.CheckResult(result, line, operation);
        return result;
    }

    private object? ApplyFilter(FilterExpr f, object? value, Frame frame)
    {
        var positional = f.Args.Select(e => Eval(e, frame)).ToList();
        var keywords = new Dictionary<string, object?>();
        foreach (var (name, v) in f.Kwargs) keywords[name] = Eval(v, frame);
        return Checked(Filters.Apply(f.Name, value, new CallArgs(f.Name, positional, keywords, f.Line, Budget)), f.Line, f.Name);
    }

    /// <summary>
    /// <c>obj.name</c>, Jinja2-style: a Python attribute (string/dict/list methods, namespace attributes) first,
    /// then a dict item; anything missing is undefined.
    /// </summary>
    internal static object? GetAttribute(object? obj, string name, Expr? at = null) => obj switch
    {
        Undefined u => new Undefined($"{u.Name}.{name}"),
        IReadOnlyDictionary<string, object?> d when Methods.IsDictMethod(name) => new BoundMethod(d, name),
        IReadOnlyDictionary<string, object?> d => d.TryGetValue(name, out object? v) ? v : MissingAttribute(name, at),
        string s when Methods.IsStringMethod(name) => new BoundMethod(s, name),
        IReadOnlyList<object?> l when Methods.IsListMethod(name) => new BoundMethod(l, name),
        Namespace ns => ns.Attributes.TryGetValue(name, out object? v) ? v : MissingAttribute(name, at),
        LoopContext loop => loop.GetAttribute(name),
        _ => MissingAttribute(name, at),
    };

    private static Undefined MissingAttribute(string name, Expr? at) => new(at is null ? name : Describe(at));

    private static Undefined Missing(object? key, Expr? at) => new(at is null ? PyFormat.Str(key) : Describe(at));

    /// <summary><c>obj[key]</c>, Jinja2-style: the item first, then (for a string key) an attribute; missing is undefined.</summary>
    internal static object? GetItem(object? obj, object? key, Expr? at)
    {
        switch (obj)
        {
            case IReadOnlyDictionary<string, object?> d:
                return key is string k && d.TryGetValue(k, out object? v) ? v : Missing(key, at);
            case IReadOnlyList<object?> l when key is long or bool:
                long i = key is bool b ? (b ? 1 : 0) : (long)key;
                if (i < 0) i += l.Count;
                return i >= 0 && i < l.Count ? l[(int)i] : Missing(key, at);
            case string s when key is long or bool:
                long j = key is bool bb ? (bb ? 1 : 0) : (long)key;
                var chars = PyOps.HasSurrogates(s) ? PyOps.Chars(s) : null;
                int length = chars?.Count ?? s.Length;
                if (j < 0) j += length;
                if (j < 0 || j >= length) return Missing(key, at);
                return chars is null ? s[(int)j].ToString() : chars[(int)j];
        }
        return key is string name ? GetAttribute(obj, name, at) : Missing(key, at);
    }

    private object? Slice(object? obj, SliceExpr s, Frame frame)
    {
        long? Bound(Expr? e)
        {
            if (e is null) return null;
            return Eval(e, frame) switch
            {
                null => null,
                long l => l,
                bool b => b ? 1 : 0,
                object other => throw new TemplateException($"slice indices must be integers or none, got {PyOps.TypeName(other)}", e.Line),
            };
        }
        long? start = Bound(s.Start), stop = Bound(s.Stop), step = Bound(s.Step);
        switch (obj)
        {
            case string str:
                var chars = PyOps.Chars(str);
                return string.Concat(PyOps.SliceIndices(start, stop, step, chars.Count, s.Line).Select(i => chars[i]));
            case IReadOnlyList<object?> list:
                var items = PyOps.SliceIndices(start, stop, step, list.Count, s.Line).Select(i => list[i]).ToList();
                return obj is JinjaTuple ? new JinjaTuple(items) : items;
            case Undefined u:
                return new Undefined(u.Name + "[:]");
            default:
                throw new TemplateException($"'{PyOps.TypeName(obj)}' object cannot be sliced", s.Line);
        }
    }

    /// <summary>A short source-like name for an expression, for messages: <c>message.content</c>, <c>messages[0]</c>.</summary>
    internal static string Describe(Expr e, int depth = 0) => depth > 8 ? "..." : e switch
    {
        NameExpr n => n.Name,
        GetAttrExpr a => $"{Describe(a.Object, depth + 1)}.{a.Attribute}",
        GetItemExpr { Key: ConstExpr k } g => $"{Describe(g.Object, depth + 1)}[{Truncated(PyFormat.Repr(k.Value))}]",
        GetItemExpr g => $"{Describe(g.Object, depth + 1)}[...]",
        CallExpr c => $"{Describe(c.Callee, depth + 1)}()",
        ConstExpr c => Truncated(PyFormat.Repr(c.Value)),
        _ => "value",
    };

    private static string Truncated(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
