namespace Sdar.Templates;

/// <summary>
/// Recursive-descent parser from tokens to statements; follows Jinja2's grammar (parser.py) so precedence and
/// the odd corners (filters bind tighter than unary minus, tests take one bare argument) match.
/// Expressions are in Parser.Expressions.cs.
/// </summary>
internal sealed partial class Parser
{
    private readonly List<Token> _tokens;
    private int _index;
    private readonly Stack<(string Name, int Line)> _openBlocks = new();
    private int _loopDepth;
    private int _nesting;

    /// <summary>Deeper nesting than this is refused, so a hostile template cannot overflow the stack.</summary>
    private readonly int _maxNesting;

    private Parser(List<Token> tokens, int maxNesting)
    {
        _tokens = tokens;
        _maxNesting = maxNesting;
    }

    public static IReadOnlyList<Stmt> ParseTemplate(string source, TemplateLimits? limits = null)
    {
        List<Token> tokens;
        try
        {
            tokens = Lexer.Tokenize(source);
        }
        catch (Exception e) when (e is not TemplateException)
        {
            throw Interpreter.AsTemplateError(e, 0);
        }
        var parser = new Parser(tokens, (limits ?? TemplateLimits.Default).MaxNestingDepth);
        try
        {
            return parser.ParseBody();
        }
        catch (Exception e) when (e is not TemplateException)
        {
            throw Interpreter.AsTemplateError(e, parser.Current.Line);
        }
    }

    private Token Current => _tokens[_index];
    private Token Peek(int ahead) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];
    private Token Advance() => _tokens[_index < _tokens.Count - 1 ? _index++ : _index];

    private static TemplateException Error(string message, Token at) => new(message, at.Line);
    private TemplateException Unexpected(string expected) => Error($"expected {expected}, found {Current.Describe()}", Current);

    private Token Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind) throw Unexpected(what);
        return Advance();
    }

    private void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op)) throw Unexpected($"'{op}'");
        Advance();
    }

    private void ExpectName(string name)
    {
        if (!Current.IsName(name)) throw Unexpected($"'{name}'");
        Advance();
    }

    private void ExpectBlockEnd() => Expect(TokenKind.BlockEnd, "'%}' to end the statement");

    private bool SkipOperator(string op)
    {
        if (!Current.IsOperator(op)) return false;
        Advance();
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Advance();
        return true;
    }

    /// <summary>
    /// Parses statements until a block tag named in <paramref name="endTags"/>; leaves the stream on that tag's name.
    /// With no end tags it parses to the end of the template.
    /// </summary>
    private List<Stmt> ParseBody(params string[] endTags)
    {
        var body = new List<Stmt>();
        while (true)
        {
            Token t = Current;
            switch (t.Kind)
            {
                case TokenKind.Text:
                    body.Add(new TextStmt((string)t.Value, t.Line));
                    Advance();
                    break;
                case TokenKind.VariableBegin:
                    Advance();
                    body.Add(new PrintStmt(ParseTuple(), t.Line));
                    Expect(TokenKind.VariableEnd, "'}}' to end the print statement");
                    break;
                case TokenKind.BlockBegin:
                    Token name = Peek(1);
                    if (name.Kind == TokenKind.Name && endTags.Contains((string)name.Value)) { Advance(); return body; }
                    Advance();
                    body.Add(ParseStatement());
                    break;
                case TokenKind.Eof:
                    if (endTags.Length == 0) return body;
                    var (block, line) = _openBlocks.Peek();
                    throw Error($"unexpected end of template: expected {Quoted(endTags)} to close '{block}' from line {line}", t);
                default:
                    throw Error($"unexpected {t.Describe()}", t);
            }
        }
    }

    private static string Quoted(string[] names) => string.Join(" or ", names.Select(n => $"'{n}'"));

    /// <summary>Runs one level of recursive parsing, refusing templates nested deeper than the nesting limit.</summary>
    private T Nested<T>(Func<T> parse)
    {
        if (++_nesting > _maxNesting)
            throw Error($"the template exceeded its nesting depth limit of {_maxNesting:N0} (blocks, brackets and parentheses inside each other)", Current);
        Interpreter.EnsureStack(Current.Line);
        try { return parse(); }
        finally { _nesting--; }
    }

    private Stmt ParseStatement() => Nested(ParseStatementCore);

    private Stmt ParseStatementCore()
    {
        Token t = Current;
        if (t.Kind != TokenKind.Name) throw Unexpected("a statement name after '{%'");
        string name = (string)t.Value;
        Advance();
        switch (name)
        {
            case "if": return InBlock(name, t, () => ParseIf(t.Line));
            case "for": return InBlock(name, t, () => ParseFor(t.Line));
            case "set": return ParseSet(t);
            case "macro": return InBlock(name, t, () => ParseMacro(t.Line));
            case "call": return InBlock(name, t, () => ParseCallBlock(t.Line));
            case "filter": return InBlock(name, t, () => ParseFilterBlock(t.Line));
            case "with": return InBlock(name, t, () => ParseWith(t.Line));
            case "generation": return InBlock(name, t, () => ParseGeneration(t.Line));
            case "break" or "continue":
                if (_loopDepth == 0) throw Error($"'{name}' outside of a for loop", t);
                ExpectBlockEnd();
                return name == "break" ? new BreakStmt(t.Line) : new ContinueStmt(t.Line);
        }
        if (_openBlocks.Count > 0 && (name.StartsWith("end", StringComparison.Ordinal) || name is "elif" or "else"))
        {
            var (block, line) = _openBlocks.Peek();
            throw Error($"unexpected '{name}': expected 'end{block}' to close '{block}' from line {line}", t);
        }
        throw Error($"unknown statement '{name}'", t);
    }

    private Stmt InBlock(string name, Token at, Func<Stmt> parse)
    {
        _openBlocks.Push((name, at.Line));
        Stmt s = parse();
        _openBlocks.Pop();
        return s;
    }

    /// <summary>Consumes '{% endname %}' (the stream is on the name).</summary>
    private void ExpectEnd(string endTag)
    {
        ExpectName(endTag);
        ExpectBlockEnd();
    }

    private IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        Expr test = ParseTuple(withCondexpr: false);
        ExpectBlockEnd();
        while (true)
        {
            branches.Add((test, ParseBody("elif", "else", "endif")));
            Token tag = Advance();
            if (tag.IsName("elif")) { test = ParseTuple(withCondexpr: false); ExpectBlockEnd(); continue; }
            if (tag.IsName("endif")) { ExpectBlockEnd(); return new IfStmt(branches, [], line); }
            ExpectBlockEnd();   // else
            var elseBody = ParseBody("endif");
            ExpectEnd("endif");
            return new IfStmt(branches, elseBody, line);
        }
    }

    private ForStmt ParseFor(int line)
    {
        Target target = ParseAssignTarget(withNamespace: false, "in");
        ExpectName("in");
        Expr iterable = ParseTuple(withCondexpr: false, extraEndNames: ["recursive", "if"]);
        Expr? filter = SkipName("if") ? ParseExpression() : null;
        if (Current.IsName("recursive")) throw Error("recursive for loops are not supported", Current);
        ExpectBlockEnd();
        _loopDepth++;
        var body = ParseBody("endfor", "else");
        _loopDepth--;
        List<Stmt> elseBody = [];
        if (Advance().IsName("else"))
        {
            ExpectBlockEnd();
            elseBody = ParseBody("endfor");
            Advance();
        }
        ExpectBlockEnd();
        return new ForStmt(target, iterable, filter, body, elseBody, line);
    }

    private Stmt ParseSet(Token at)
    {
        Target target = ParseAssignTarget(withNamespace: true);
        if (SkipOperator("="))
        {
            Expr value = ParseTuple();
            ExpectBlockEnd();
            return new SetStmt(target, value, at.Line);
        }
        var filters = ParseFilterChain();
        ExpectBlockEnd();
        _openBlocks.Push(("set", at.Line));
        var body = ParseBody("endset");
        _openBlocks.Pop();
        ExpectEnd("endset");
        return new SetBlockStmt(target, body, filters, at.Line);
    }

    private MacroStmt ParseMacro(int line)
    {
        string name = (string)Expect(TokenKind.Name, "a macro name").Value;
        var (parameters, defaults) = ParseSignature();
        ExpectBlockEnd();
        var body = ParseMacroBody("endmacro");
        return new MacroStmt(name, parameters, defaults, body, line);
    }

    private CallBlockStmt ParseCallBlock(int line)
    {
        var (parameters, defaults) = Current.IsOperator("(") ? ParseSignature() : ([], []);
        Token at = Current;
        if (ParseExpression() is not CallExpr call) throw Error("expected a macro call after 'call'", at);
        ExpectBlockEnd();
        var body = ParseMacroBody("endcall");
        return new CallBlockStmt(call, parameters, defaults, body, line);
    }

    private List<Stmt> ParseMacroBody(string endTag)
    {
        int savedLoopDepth = _loopDepth;
        _loopDepth = 0;   // a loop around a macro definition does not make 'break' legal inside it
        var body = ParseBody(endTag);
        _loopDepth = savedLoopDepth;
        ExpectEnd(endTag);
        return body;
    }

    private (List<string>, List<Expr?>) ParseSignature()
    {
        var names = new List<string>();
        var defaults = new List<Expr?>();
        ExpectOperator("(");
        while (!SkipOperator(")"))
        {
            if (names.Count > 0) ExpectOperator(",");
            if (SkipOperator(")")) break;
            names.Add((string)Expect(TokenKind.Name, "a parameter name").Value);
            defaults.Add(SkipOperator("=") ? ParseExpression() : null);
        }
        return (names, defaults);
    }

    private FilterBlockStmt ParseFilterBlock(int line)
    {
        var filters = ParseFilterChain(startInline: true);
        ExpectBlockEnd();
        var body = ParseBody("endfilter");
        ExpectEnd("endfilter");
        return new FilterBlockStmt(filters, body, line);
    }

    private WithStmt ParseWith(int line)
    {
        var assignments = new List<(Target, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) ExpectOperator(",");
            Target target = ParseAssignTarget(withNamespace: false);
            ExpectOperator("=");
            assignments.Add((target, ParseExpression()));
        }
        ExpectBlockEnd();
        var body = ParseBody("endwith");
        ExpectEnd("endwith");
        return new WithStmt(assignments, body, line);
    }

    private GenerationStmt ParseGeneration(int line)
    {
        ExpectBlockEnd();
        var body = ParseBody("endgeneration");
        ExpectEnd("endgeneration");
        return new GenerationStmt(body, line);
    }

    /// <summary>A name, <c>ns.attr</c> (for set), or a comma list / parenthesised tuple of names.</summary>
    private Target ParseAssignTarget(bool withNamespace, params string[] extraEndNames)
    {
        Token first = Current;
        if (withNamespace && first.Kind == TokenKind.Name && Peek(1).IsOperator("."))
        {
            Advance();
            Advance();
            string attribute = (string)Expect(TokenKind.Name, "an attribute name after '.'").Value;
            return new AttributeTarget((string)first.Value, attribute, first.Line);
        }
        var items = new List<Target>();
        while (true)
        {
            if (items.Count > 0 && !SkipOperator(",")) break;
            if (Current.Kind == TokenKind.BlockEnd || Current.IsOperator("=") || (Current.Kind == TokenKind.Name && extraEndNames.Contains(Current.Text))) break;
            items.Add(ParseSimpleTarget());
        }
        if (items.Count == 0) throw Unexpected("a variable name to assign to");
        return items.Count == 1 && !_tokens[_index - 1].IsOperator(",") ? items[0] : new TupleTarget(items, first.Line);
    }

    private Target ParseSimpleTarget()
    {
        Token t = Current;
        if (SkipOperator("("))
        {
            var items = new List<Target>();
            while (!SkipOperator(")"))
            {
                if (items.Count > 0) ExpectOperator(",");
                if (SkipOperator(")")) break;
                items.Add(ParseSimpleTarget());
            }
            return new TupleTarget(items, t.Line);
        }
        if (t.Kind != TokenKind.Name || t.Text is "in" or "true" or "false" or "none" or "True" or "False" or "None")
            throw Unexpected("a variable name to assign to");
        Advance();
        return new NameTarget((string)t.Value, t.Line);
    }
}
