namespace Sdar.Templates;

// The syntax tree. Every node keeps the template line it starts on, for error messages.

internal abstract record Node(int Line);

// ---- statements ----

internal abstract record Stmt(int Line) : Node(Line);

internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

internal sealed record PrintStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record IfStmt(IReadOnlyList<(Expr Test, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

internal sealed record ForStmt(Target Target, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

internal sealed record SetStmt(Target Target, Expr Value, int Line) : Stmt(Line);

/// <summary>{% set x %}body{% endset %}, optionally piped through filters (<c>{% set x | trim %}</c>).</summary>
internal sealed record SetBlockStmt(Target Target, IReadOnlyList<Stmt> Body, IReadOnlyList<FilterExpr> Filters, int Line) : Stmt(Line);

internal sealed record MacroStmt(string Name, IReadOnlyList<string> Parameters, IReadOnlyList<Expr?> Defaults, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary>{% call(params) macro(args) %}body{% endcall %}: the body becomes the macro's <c>caller()</c>.</summary>
internal sealed record CallBlockStmt(CallExpr Call, IReadOnlyList<string> Parameters, IReadOnlyList<Expr?> Defaults, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary>{% filter upper %}body{% endfilter %}: the rendered body is passed through the filters.</summary>
internal sealed record FilterBlockStmt(IReadOnlyList<FilterExpr> Filters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

internal sealed record WithStmt(IReadOnlyList<(Target Target, Expr Value)> Assignments, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

internal sealed record BreakStmt(int Line) : Stmt(Line);

internal sealed record ContinueStmt(int Line) : Stmt(Line);

/// <summary>transformers' {% generation %} marks assistant text for masks; rendering just emits the body.</summary>
internal sealed record GenerationStmt(IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

// ---- assignment targets ----

internal abstract record Target(int Line) : Node(Line);

internal sealed record NameTarget(string Name, int Line) : Target(Line);

internal sealed record TupleTarget(IReadOnlyList<Target> Items, int Line) : Target(Line);

/// <summary><c>ns.attr</c> on the left of <c>{% set %}</c>: only namespace objects accept it.</summary>
internal sealed record AttributeTarget(string Name, string Attribute, int Line) : Target(Line);

// ---- expressions ----

internal abstract record Expr(int Line) : Node(Line);

internal sealed record ConstExpr(object? Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record TupleExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);

internal sealed record GetAttrExpr(Expr Object, string Attribute, int Line) : Expr(Line);

internal sealed record GetItemExpr(Expr Object, Expr Key, int Line) : Expr(Line);

internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

/// <summary>Arithmetic and <c>~</c>: <c>+ - * / // % ** ~</c>.</summary>
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record UnaryExpr(string Op, Expr Operand, int Line) : Expr(Line);

internal sealed record AndExpr(Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record OrExpr(Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record NotExpr(Expr Operand, int Line) : Expr(Line);

/// <summary>A Python-style comparison chain: <c>a &lt; b &lt;= c</c>; operators include <c>in</c> and <c>not in</c>.</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Op, Expr Right)> Rest, int Line) : Expr(Line);

/// <summary><c>a if test else b</c>; without <c>else</c> the result is undefined when the test fails.</summary>
internal sealed record CondExpr(Expr Test, Expr Then, Expr? Else, int Line) : Expr(Line);

internal sealed record CallExpr(Expr Callee, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);

/// <summary><c>value | name(args)</c>; <see cref="Value"/> is null inside filter blocks and set blocks.</summary>
internal sealed record FilterExpr(Expr? Value, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);

/// <summary><c>value is [not] name(args)</c>.</summary>
internal sealed record TestExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, bool Negated, int Line) : Expr(Line);
