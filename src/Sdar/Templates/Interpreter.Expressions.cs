namespace Sdar.Templates;

internal sealed partial class Interpreter
{
    internal object? Eval(Expr expr, Frame frame)
    {
        switch (expr)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n: return frame.TryGet(n.Name, out object? v) ? v : new Undefined(n.Name);
            case ListExpr l: return l.Items.Select(e => Eval(e, frame)).ToList();
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
            case GetAttrExpr a: return GetAttribute(Eval(a.Object, frame), a.Attribute, a);
            case GetItemExpr g:
                object? obj = Eval(g.Object, frame);
                return g.Key is SliceExpr slice ? Slice(obj, slice, frame) : GetItem(obj, Eval(g.Key, frame), g);
            case BinaryExpr b: return PyOps.Binary(b.Op, Eval(b.Left, frame), Eval(b.Right, frame), b.Line);
            case UnaryExpr u: return PyOps.Unary(u.Op, Eval(u.Operand, frame), u.Line);
            case AndExpr a:
                object? left = Eval(a.Left, frame);
                return PyOps.IsTrue(left) ? Eval(a.Right, frame) : left;
            case OrExpr o:
                object? first = Eval(o.Left, frame);
                return PyOps.IsTrue(first) ? first : Eval(o.Right, frame);
            case NotExpr n: return !PyOps.IsTrue(Eval(n.Operand, frame));
            case CompareExpr c: return EvalCompare(c, frame);
            case CondExpr c:
                if (PyOps.IsTrue(Eval(c.Test, frame))) return Eval(c.Then, frame);
                return c.Else is null ? new Undefined("inline if without else") : Eval(c.Else, frame);
            case CallExpr c: return EvalCall(c, frame, caller: null);
            case FilterExpr f: return ApplyFilter(f, f.Value is null ? null : Eval(f.Value, frame), frame);
            case TestExpr t:
                bool result = Predicates.Apply(t.Name, Eval(t.Value, frame), t.Args.Select(e => Eval(e, frame)).ToList(), t.Line);
                return result != t.Negated;
            case SliceExpr s: throw new TemplateException("a slice is only allowed inside '[]'", s.Line);
            default: throw new TemplateException($"unsupported expression {expr.GetType().Name}", expr.Line);
        }
    }

    private bool EvalCompare(CompareExpr c, Frame frame)
    {
        object? left = Eval(c.First, frame);
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
        object? callee;
        if (c.Callee is GetAttrExpr method)
        {
            object? receiver = Eval(method.Object, frame);
            callee = GetAttribute(receiver, method.Attribute, method);
            if (callee is Undefined && receiver is not Undefined)
                throw new TemplateException($"'{PyOps.TypeName(receiver)}' object has no method '{method.Attribute}'", c.Line);
        }
        else callee = Eval(c.Callee, frame);
        var positional = c.Args.Select(e => Eval(e, frame)).ToList();
        var keywords = new Dictionary<string, object?>();
        foreach (var (name, value) in c.Kwargs) keywords[name] = Eval(value, frame);
        if (caller is not null) keywords["caller"] = caller;
        string calleeName = Describe(c.Callee);
        return callee switch
        {
            ICallable f => f.Call(this, new CallArgs(calleeName, positional, keywords, c.Line)),
            Undefined u => throw new TemplateException($"'{u.Name}' is undefined and cannot be called", c.Line),
            _ => throw new TemplateException($"'{calleeName}' ({PyOps.TypeName(callee)}) is not callable", c.Line),
        };
    }

    private object? ApplyFilter(FilterExpr f, object? value, Frame frame)
    {
        var positional = f.Args.Select(e => Eval(e, frame)).ToList();
        var keywords = new Dictionary<string, object?>();
        foreach (var (name, v) in f.Kwargs) keywords[name] = Eval(v, frame);
        return Filters.Apply(f.Name, value, new CallArgs(f.Name, positional, keywords, f.Line));
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
    internal static string Describe(Expr e) => e switch
    {
        NameExpr n => n.Name,
        GetAttrExpr a => $"{Describe(a.Object)}.{a.Attribute}",
        GetItemExpr { Key: ConstExpr k } g => $"{Describe(g.Object)}[{PyFormat.Repr(k.Value)}]",
        GetItemExpr g => $"{Describe(g.Object)}[...]",
        CallExpr c => $"{Describe(c.Callee)}()",
        ConstExpr c => PyFormat.Repr(c.Value),
        _ => "value",
    };
}
