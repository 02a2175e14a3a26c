using Sdar.Templates;
using static Sdar.Tests.Templates.TemplateEngineTests;

namespace Sdar.Tests.Templates;

/// <summary>Syntax and runtime errors name the line and what was expected.</summary>
public class TemplateErrorTests
{
    private static TemplateException ParseError(string source) => Assert.Throws<TemplateException>(() => ChatTemplate.Parse(source));

    private static TemplateException RenderError(string source, params (string, object?)[] variables) =>
        Assert.Throws<TemplateException>(() => Render(source, variables));

    [Fact]
    public void Unclosed_block_names_the_missing_end_tag_and_where_the_block_opened()
    {
        var e = ParseError("a\n{% if x %}\nb\n");
        Assert.Equal("line 3: unexpected end of template: expected 'elif' or 'else' or 'endif' to close 'if' from line 2", e.Message);
    }

    [Fact]
    public void Mismatched_end_tag_names_the_expected_one()
    {
        var e = ParseError("a\n{% for x in y %}\n{% endif %}");
        Assert.Equal(3, e.Line);
        Assert.Contains("unexpected 'endif': expected 'endfor' to close 'for' from line 2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ x + }}", "line 1: expected an expression, found end of print statement '}}'")]
    [InlineData("line1\nline2 {{ 'abc' \n", "line 2: '{{' opened here is never closed with '}}'")]
    [InlineData("{% foo %}", "line 1: unknown statement 'foo'")]
    [InlineData("{% set 1 = 2 %}", "line 1: expected a variable name to assign to, found '1'")]
    [InlineData("{{ 'abc }}", "line 1: string literal starting with ' is never closed")]
    [InlineData("{# never closed", "line 1: comment '{#' is never closed with '#}'")]
    [InlineData("{{ [1, 2 }}", "line 1: unexpected '}', expected ']'")]
    [InlineData("\n{% break %}", "line 2: 'break' outside of a for loop")]
    [InlineData("{% if x %}{% else %}{% else %}{% endif %}", "line 1: unexpected 'else': expected 'endif' to close 'if' from line 1")]
    [InlineData("{% for x in xs recursive %}{% endfor %}", "line 1: recursive for loops are not supported")]
    public void Syntax_errors_say_what_was_expected(string source, string message)
    {
        Assert.Equal(message, ParseError(source).Message);
    }

    [Fact]
    public void Raise_exception_throws_the_templates_message_with_its_line()
    {
        var e = RenderError("\n\n{{ raise_exception('Bad role: ' ~ r) }}", ("r", "x"));
        Assert.Equal(3, e.Line);
        Assert.Equal("line 3: the template raised an error: Bad role: x", e.Message);
    }

    [Theory]
    [InlineData("{{ 'a' |nofilter }}", "line 1: unknown filter 'nofilter'")]
    [InlineData("\n\n{{ x is nottest }}", "line 3: unknown test 'nottest'")]
    [InlineData("{% for a, b in [1] %}{% endfor %}", "line 1: cannot unpack int into 2 variables")]
    [InlineData("{% set x.y = 1 %}", "line 1: cannot set 'x.y': 'x' is not a namespace() object")]
    [InlineData("{{ f() }}", "line 1: 'f' is undefined and cannot be called")]
    [InlineData("{{ 1 + 'a' }}", "line 1: unsupported operand types for +: int and str")]
    [InlineData("{{ 'a' < 1 }}", "line 1: '<' is not supported between str and int")]
    [InlineData("{{ 3 // 0 }}", "line 1: division by zero")]
    [InlineData("{{ range(10**10)|length }}", "line 1: the template exceeded its list size limit of 1,000,000 items (range: range would make 10,000,000,000)")]
    public void Runtime_errors_name_the_line_and_the_problem(string source, string message)
    {
        Assert.Equal(message, RenderError(source).Message);
    }

    [Fact]
    public void Pathological_nesting_fails_cleanly_instead_of_overflowing_the_stack()
    {
        string deep = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        Assert.Contains("nesting depth limit of 1,000", ParseError(deep).Message, StringComparison.Ordinal);
        Assert.Contains("nesting depth limit of 1,000", ParseError(string.Concat(Enumerable.Repeat("{% if true %}", 5000))).Message, StringComparison.Ordinal);
        Assert.Contains("runaway recursion", RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").Message, StringComparison.Ordinal);
        Assert.Contains("string size limit", RenderError("{{ 'ab' * 100000000000 }}").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_variable_types_are_rejected_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => ChatTemplate.Parse("{{ x }}").Render(new Dictionary<string, object?> { ["x"] = List(new object()) }));
        Assert.Contains("'x[0]'", e.Message, StringComparison.Ordinal);
    }
}
