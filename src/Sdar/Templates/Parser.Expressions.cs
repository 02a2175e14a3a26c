namespace Sdar.Templates;

// Expression grammar, loosest first (as Jinja2):
//   tuple -> condexpr (a if c else b) -> or -> and -> not -> compare (== != < <= > >= in, not in)
//   -> + - -> ~ -> * / // % -> ** -> unary - + -> primary, then postfix (.a [i] (call)), then | filter / is test
internal sealed partial class Parser
{
    private static readonly string[] CompareOperators = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseTuple(bool withCondexpr = true, string[]? extraEndNames = null, bool explicitParentheses = false)
    {
        int line = Current.Line;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOperator(",");
            if (IsTupleEnd(extraEndNames)) break;
            items.Add(withCondexpr ? ParseExpression() : ParseOr());
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParentheses) throw Unexpected("an expression");
        }
        return new TupleExpr(items, line);
    }

    private bool IsTupleEnd(string[]? extraEndNames) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.Eof || Current.IsOperator(")")
        || (extraEndNames is not null && Current.Kind == TokenKind.Name && extraEndNames.Contains(Current.Text));

    private Expr ParseExpression() => ParseCondExpr();

    /// <summary>
    /// <c>a if t1 else b if t2 else c</c> nests to the right; parsed in a loop (a pending stack of the branches
    /// still waiting for their else part), so a long chain does not recurse.
    /// </summary>
    private Expr ParseCondExpr()
    {
        var pending = new Stack<(Expr Test, Expr Then, int Line)>();
        Expr expr = ParseOr();
        while (Current.IsName("if"))
        {
            int line = Advance().Line;
            Expr test = ParseOr();
            if (SkipName("else"))
            {
                pending.Push((test, expr, line));
                expr = ParseOr();
            }
            else
            {
                expr = new CondExpr(test, expr, null, line);
            }
        }
        while (pending.Count > 0)
        {
            var (test, then, line) = pending.Pop();
            expr = new CondExpr(test, then, expr, line);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        Expr left = ParseAnd();
        while (SkipName("or")) left = new OrExpr(left, ParseAnd(), left.Line);
        return left;
    }

    private Expr ParseAnd()
    {
        Expr left = ParseNot();
        while (SkipName("and")) left = new AndExpr(left, ParseNot(), left.Line);
        return left;
    }

    /// <summary><c>not not ... x</c>: the run of nots is counted in a loop, not parsed by recursion.</summary>
    private Expr ParseNot()
    {
        var lines = new List<int>();
        while (Current.IsName("not")) lines.Add(Advance().Line);
        Expr expr = ParseCompare();
        for (int i = lines.Count - 1; i >= 0; i--) expr = new NotExpr(expr, lines[i]);
        return expr;
    }

    private Expr ParseCompare()
    {
        Expr first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOperators.Contains(Current.Text)) rest.Add((Advance().Text, ParseMath1()));
            else if (SkipName("in")) rest.Add(("in", ParseMath1()));
            else if (Current.IsName("not") && Peek(1).IsName("in")) { Advance(); Advance(); rest.Add(("not in", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, first.Line);
    }

    private Expr ParseMath1()
    {
        Expr left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-")) left = new BinaryExpr(Advance().Text, left, ParseConcat(), left.Line);
        return left;
    }

    private Expr ParseConcat()
    {
        Expr left = ParseMath2();
        while (SkipOperator("~")) left = new BinaryExpr("~", left, ParseMath2(), left.Line);
        return left;
    }

    private Expr ParseMath2()
    {
        Expr left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
            left = new BinaryExpr(Advance().Text, left, ParsePow(), left.Line);
        return left;
    }

    private Expr ParsePow()
    {
        Expr left = ParseUnary();
        while (SkipOperator("**")) left = new BinaryExpr("**", left, ParseUnary(), left.Line);   // left-assoc, as Jinja2
        return left;
    }

    private Expr ParseUnary(bool withFilter = true) => Nested(() => ParseUnaryCore(withFilter));

    /// <summary>A run of unary signs (<c>- - + x</c>) is collected in a loop; each applies to what follows, unfiltered.</summary>
    private Expr ParseUnaryCore(bool withFilter)
    {
        var signs = new List<Token>();
        while (Current.IsOperator("-") || Current.IsOperator("+")) signs.Add(Advance());
        Expr node = ParsePostfix(ParsePrimary());
        for (int i = signs.Count - 1; i >= 0; i--) node = new UnaryExpr(signs[i].Text, node, signs[i].Line);
        return withFilter ? ParseFilterExpr(node) : node;
    }

    private Expr ParsePrimary()
    {
        Token t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Advance();
                return t.Text switch
                {
                    "true" or "True" => new ConstExpr(true, t.Line),
                    "false" or "False" => new ConstExpr(false, t.Line),
                    "none" or "None" => new ConstExpr(null, t.Line),
                    _ => new NameExpr(t.Text, t.Line),
                };
            case TokenKind.String:
                string s = (string)Advance().Value;
                while (Current.Kind == TokenKind.String) s += (string)Advance().Value;   // adjacent literals join
                return new ConstExpr(s, t.Line);
            case TokenKind.Integer or TokenKind.Float:
                Advance();
                return new ConstExpr(t.Value, t.Line);
        }
        if (SkipOperator("("))
        {
            Expr inner = ParseTuple(explicitParentheses: true);
            ExpectOperator(")");
            return inner;
        }
        if (SkipOperator("[")) return new ListExpr(ParseItems("]"), t.Line);
        if (SkipOperator("{"))
        {
            var pairs = new List<(Expr, Expr)>();
            while (!SkipOperator("}"))
            {
                if (pairs.Count > 0) ExpectOperator(",");
                if (SkipOperator("}")) break;
                Expr key = ParseExpression();
                ExpectOperator(":");
                pairs.Add((key, ParseExpression()));
            }
            return new DictExpr(pairs, t.Line);
        }
        throw Unexpected("an expression");
    }

    private List<Expr> ParseItems(string close)
    {
        var items = new List<Expr>();
        while (!SkipOperator(close))
        {
            if (items.Count > 0) ExpectOperator(",");
            if (SkipOperator(close)) break;
            items.Add(ParseExpression());
        }
        return items;
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            Token t = Current;
            if (t.IsOperator("."))
            {
                Advance();
                Token attr = Current;
                if (attr.Kind == TokenKind.Name) node = new GetAttrExpr(node, attr.Text, t.Line);
                else if (attr.Kind == TokenKind.Integer) node = new GetItemExpr(node, new ConstExpr(attr.Value, attr.Line), t.Line);
                else throw Unexpected("an attribute name after '.'");
                Advance();
            }
            else if (t.IsOperator("["))
            {
                Advance();
                var keys = new List<Expr>();
                while (!SkipOperator("]"))
                {
                    if (keys.Count > 0) ExpectOperator(",");
                    keys.Add(ParseSubscribed());
                }
                if (keys.Count == 0) throw Error("expected an index or slice inside '[]'", t);
                node = new GetItemExpr(node, keys.Count == 1 ? keys[0] : new TupleExpr(keys, t.Line), t.Line);
            }
            else if (t.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseSubscribed()
    {
        int line = Current.Line;
        Expr? start = null;
        if (!Current.IsOperator(":"))
        {
            start = ParseExpression();
            if (!Current.IsOperator(":")) return start;
        }
        Advance();
        Expr? stop = IsSliceEnd() || Current.IsOperator(":") ? null : ParseExpression();
        Expr? step = null;
        if (SkipOperator(":") && !IsSliceEnd()) step = ParseExpression();
        return new SliceExpr(start, stop, step, line);
    }

    private bool IsSliceEnd() => Current.IsOperator("]") || Current.IsOperator(",");

    private CallExpr ParseCall(Expr callee)
    {
        int line = Current.Line;
        var (args, kwargs) = ParseCallArgs();
        return new CallExpr(callee, args, kwargs, line);
    }

    private (List<Expr>, List<(string, Expr)>) ParseCallArgs()
    {
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        ExpectOperator("(");
        while (!SkipOperator(")"))
        {
            if (args.Count + kwargs.Count > 0) ExpectOperator(",");
            if (SkipOperator(")")) break;
            if (Current.IsOperator("*") || Current.IsOperator("**")) throw Error("'*args' and '**kwargs' in calls are not supported", Current);
            if (Current.Kind == TokenKind.Name && Peek(1).IsOperator("="))
            {
                string name = Advance().Text;
                Advance();
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("a positional argument cannot follow a keyword argument", Current);
                args.Add(ParseExpression());
            }
        }
        return (args, kwargs);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|")) node = ParseFilterChain(node)[^1];
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    /// <summary>
    /// Parses '| f(args) | g ...'. Each filter wraps the previous one; the last element is the whole chain.
    /// With <paramref name="startInline"/> the first filter has no leading '|' ({% filter %} blocks).
    /// </summary>
    private List<FilterExpr> ParseFilterChain(Expr? node = null, bool startInline = false)
    {
        var chain = new List<FilterExpr>();
        while (startInline || Current.IsOperator("|"))
        {
            if (!startInline) Advance();
            startInline = false;
            Token nameToken = Expect(TokenKind.Name, "a filter name after '|'");
            string name = nameToken.Text;
            while (Current.IsOperator(".")) { Advance(); name += "." + Expect(TokenKind.Name, "a filter name").Text; }
            var (args, kwargs) = Current.IsOperator("(") ? ParseCallArgs() : ([], []);
            var filter = new FilterExpr(node, name, args, kwargs, nameToken.Line);
            chain.Add(filter);
            node = filter;
        }
        return chain;
    }

    private TestExpr ParseTest(Expr node)
    {
        int line = Advance().Line;   // 'is'
        bool negated = SkipName("not");
        Token nameToken = Expect(TokenKind.Name, "a test name after 'is'");
        string name = nameToken.Text;
        var args = new List<Expr>();
        Token t = Current;
        if (t.IsOperator("("))
        {
            var (positional, kwargs) = ParseCallArgs();
            if (kwargs.Count > 0) throw Error($"test '{name}' takes no keyword arguments", t);
            args = positional;
        }
        else if ((t.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float || t.IsOperator("[") || t.IsOperator("{"))
                 && !(t.IsName("else") || t.IsName("or") || t.IsName("and")))
        {
            if (t.IsName("is")) throw Error("tests cannot be chained with 'is'", t);
            args.Add(ParsePostfix(ParsePrimary()));   // 'x is divisibleby 3', 'x is sameas none'
        }
        return new TestExpr(node, name, args, negated, line);
    }
}
