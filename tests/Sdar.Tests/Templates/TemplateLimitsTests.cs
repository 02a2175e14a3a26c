using System.Diagnostics;
using Sdar.Templates;
using Xunit.Abstractions;

namespace Sdar.Tests.Templates;

/// <summary>
/// Hostile chat templates (they come with downloaded checkpoints) fail fast with a TemplateException naming the
/// line and the limit, and the real templates stay at least 100 times below every default limit.
/// </summary>
public sealed class TemplateLimitsTests(ITestOutputHelper output)
{
    private static TemplateException RenderFails(string source, TemplateLimits? limits = null)
    {
        var template = ChatTemplate.Parse(source, limits: limits);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<TemplateException>(() => template.Render(new Dictionary<string, object?>()));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed} to fail: {e.Message}");
        return e;
    }

    private static string Render(string source) => ChatTemplate.Parse(source).Render(new Dictionary<string, object?>());

    [Fact]
    public void The_real_templates_render_a_long_conversation_within_a_hundredth_of_every_default_limit()
    {
        TemplateLimits d = TemplateLimits.Default;
        var hundredth = new TemplateLimits
        {
            MaxOutputChars = d.MaxOutputChars / 100,
            MaxStringChars = d.MaxStringChars / 100,
            MaxListItems = d.MaxListItems / 100,
            MaxLoopIterations = d.MaxLoopIterations / 100,
            MaxMacroCalls = d.MaxMacroCalls / 100,
            MaxCallDepth = d.MaxCallDepth / 100,
            MaxNestingDepth = d.MaxNestingDepth / 100,
            MaxAllocatedBytes = d.MaxAllocatedBytes / 100,
            // Time is only reported: on a loaded test machine a 10 ms render can take 100 ms.
            MaxRenderTime = d.MaxRenderTime,
        };
        foreach (var (name, source) in RealTemplates.All)
        {
            var template = ChatTemplate.Parse(source, name, hundredth);
            var variables = RealTemplates.ChatVariables(name);
            template.Render(variables);   // warm up, so the timing below is the render's, not the JIT's
            var budget = new RenderBudget(hundredth);
            string rendered = template.Render(variables, budget);
            output.WriteLine($"{name}: {rendered.Length:N0} chars, {budget.LoopIterations:N0} loop iterations, {budget.MacroCalls} macro calls " +
                $"(depth {budget.PeakCallDepth}), nesting depth {MinimalNestingDepth(source)}, {budget.AllocatedBytes:N0} bytes allocated, " +
                $"{budget.Elapsed.TotalMilliseconds:F1} ms");
            Assert.True(rendered.Length > 5_000, name);
        }
    }

    /// <summary>The smallest nesting limit the template parses under.</summary>
    private static int MinimalNestingDepth(string source)
    {
        for (int depth = 1; ; depth++)
        {
            try
            {
                ChatTemplate.Parse(source, limits: new TemplateLimits { MaxNestingDepth = depth });
                return depth;
            }
            catch (TemplateException) { }
        }
    }

    [Fact]
    public void Exponentially_recursive_macros_hit_the_macro_call_budget()
    {
        var e = RenderFails("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}\n{{ f(40) }}");
        Assert.Contains("line 1: the template exceeded its budget of 100,000 macro calls (in 'f')", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exponential_macros_without_a_base_case_hit_the_call_depth_limit()
    {
        var e = RenderFails("{% macro f(n) %}{{ f(n-1) }}{{ f(n-1) }}{% endmacro %}{{ f(40) }}");
        Assert.Contains("the template exceeded its call depth limit of 100 nested macro calls (in 'f'; runaway recursion?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_recursion_through_caller_blocks_hits_the_call_depth_limit()
    {
        var e = RenderFails("{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}");
        Assert.Contains("call depth limit of 100", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% for i in range(10**10) %}x{% endfor %}", "list size limit of 1,000,000 items (range: range would make 10,000,000,000)")]
    [InlineData("{% for i in range(-(2**62), 2**62) %}x{% endfor %}", "list size limit of 1,000,000 items (range: range would make 9,223,372,036,854,775,807)")]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loop budget of 1,000,000 iterations")]
    [InlineData("{% for i in range(100000) if i is even %}{% for j in range(100000) if j %}{% endfor %}{% endfor %}", "loop budget of 1,000,000 iterations")]
    public void Huge_and_nested_loops_hit_the_list_or_loop_budget(string source, string limit)
    {
        var e = RenderFails(source);
        Assert.StartsWith("line 1: the template exceeded its ", e.Message, StringComparison.Ordinal);
        Assert.Contains(limit, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", "'~' would make 16,777,216")]
    [InlineData("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "'+' would make")]
    [InlineData("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "list size limit of 1,000,000 items ('+' would make 1,048,576)")]
    [InlineData("{{ 'x' * 10**10 }}", "string size limit of 16,000,000 characters ('*' would make 10,000,000,000)")]
    [InlineData("{{ 'xy' * 9223372036854775807 }}", "string size limit")]
    [InlineData("{{ [1, 2] * 10**10 }}", "list size limit of 1,000,000 items ('*' would make 20,000,000,000)")]
    [InlineData("{{ 'a'|indent(10**9) }}", "string size limit of 16,000,000 characters (indent: the indent width would make 1,000,000,000)")]
    [InlineData("{{ ('a\\n' * 1000)|indent(100000) }}", "(indent: indenting would make")]
    [InlineData("{{ (['ab' * 1000000] * 100)|join }}", "(join: joining would make 200,000,000)")]
    [InlineData("{{ ','.join(['ab' * 1000000] * 100) }}", "(','.join: joining would make")]
    [InlineData("{{ ('ab' * 1000000)|replace('a', 'aaaaaaaaaaaaaaaaaaaa') }}", "(replace: replacing would make 21,000,000)")]
    [InlineData("{{ ('ab' * 1000000).replace('', 'xxxxxxxx') }}", "replacing would make")]
    [InlineData("{{ ['ab' * 1000000] * 100 }}", "string size limit of 16,000,000 characters (formatting a value)")]
    [InlineData("{{ (['ab' * 1000000] * 100)|tojson }}", "(tojson)")]
    [InlineData("{{ [[1]]|tojson(indent=10**9) }}", "(tojson indent)")]
    [InlineData("{{ ('\"' * 10000000)|e }}", "(e: escaping would make 60,000,000)")]
    [InlineData("{% for c in 'ab' * 1000000 %}{% endfor %}", "list size limit of 1,000,000 items (iterating over a string would make 2,000,000)")]
    public void Operations_that_would_build_huge_values_fail_before_allocating(string source, string limit)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = RenderFails(source);
        Assert.Contains(limit, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("line 1: the template exceeded its ", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 400_000_000, "allocated too much before failing");
    }

    [Theory]
    [InlineData("{{ '%0999999999d'|format(1) }}")]
    [InlineData("{{ 'a'|center(10**9) }}")]
    [InlineData("{{ '{:>999999999}'.format(1) }}")]
    public void Width_operations_the_engine_does_not_have_fail_cleanly(string source)
    {
        var e = RenderFails(source);
        Assert.Contains("line 1:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_output_limit_stops_a_render_that_prints_too_much()
    {
        var e = RenderFails("{% for i in range(1000) %}\n{{ 'x' * 100000 }}{% endfor %}");
        Assert.Equal("line 2: the template exceeded its output limit of 16,000,000 characters", e.Message);
    }

    [Fact]
    public void The_wall_clock_budget_stops_a_slow_render()
    {
        var limits = new TemplateLimits { MaxRenderTime = TimeSpan.FromMilliseconds(200) };
        // Sorting a growing list each iteration: slow, yet far below the loop, list and string limits.
        var e = RenderFails("{% set ns = namespace(l=[]) %}{% for i in range(200000) %}{% set ns.l = (ns.l + [i])|sort %}{% endfor %}", limits);
        Assert.Contains("the template exceeded its time budget of 0.2 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_memory_budget_stops_a_render_that_allocates_too_much()
    {
        var limits = new TemplateLimits { MaxAllocatedBytes = 50_000_000 };
        var e = RenderFails("{% for i in range(1000) %}{% set s = 'ab' * 1000000 %}{% endfor %}", limits);
        Assert.Contains("the template exceeded its memory budget of 50,000,000 bytes allocated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Integer_powers_with_huge_exponents_are_immediate()
    {
        Assert.Equal("1 1 -1 0", Render("{{ 1 ** 10**18 }} {{ (-1) ** (10**18) }} {{ (-1) ** (10**18 + 1) }} {{ 0 ** 10**18 }}"));
        Assert.Contains("integer overflow", RenderFails("{{ 2 ** 10**18 }}").Message, StringComparison.Ordinal);
        Assert.Equal("4611686018427387904 -9223372036854775807", Render("{{ 2 ** 62 }} {{ -(2 ** 62) - (2 ** 62 - 1) }}"));
    }

    public static TheoryData<string, string> FlatChains => new()
    {
        { "{{ " + string.Join(" + ", Enumerable.Repeat("1", 10_000)) + " }}", "10000" },
        { "{{ " + string.Join(" ~ ", Enumerable.Repeat("'a'", 10_000)) + " }}", new string('a', 10_000) },
        { "{{ " + string.Join(" and ", Enumerable.Repeat("1", 10_000)) + " }}", "1" },
        { "{{ " + string.Join(" or ", Enumerable.Repeat("0", 10_000)) + " or 7 }}", "7" },
        { "{{ " + string.Concat(Enumerable.Repeat("not ", 10_001)) + "false }}", "True" },
        { "{{ " + string.Concat(Enumerable.Repeat("- ", 10_000)) + "1 }}", "1" },
        { "{{ x" + string.Concat(Enumerable.Repeat(".b", 10_000)) + " is defined }}", "False" },
        { "{{ 'a'" + string.Concat(Enumerable.Repeat("|upper|lower", 5_000)) + " }}", "a" },
        { "{{ ' a '" + string.Concat(Enumerable.Repeat(".strip()", 10_000)) + " }}", "a" },
        { "{{ " + string.Concat(Enumerable.Repeat("0 if false else ", 10_000)) + "5 }}", "5" },
        { "{{ 1 " + string.Concat(Enumerable.Repeat("< 2 ", 10_000)) + "}}", "False" },
        { "{% if false %}{% " + string.Concat(Enumerable.Repeat("elif false %}{% ", 10_000)) + "else %}e{% endif %}", "e" },
    };

    [Theory]
    [MemberData(nameof(FlatChains))]
    public void Ten_thousand_term_flat_chains_parse_and_render_without_deep_recursion(string source, string expected)
    {
        Assert.Equal(expected, Render(source));
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("[", "]")]
    [InlineData("{'a': ", "}")]
    [InlineData("f(", ")")]
    [InlineData("x[", "]")]
    [InlineData("'a'|replace('a', ", ")")]
    public void Ten_thousand_deep_brackets_hit_the_nesting_limit(string open, string close)
    {
        string source = "{{ " + string.Concat(Enumerable.Repeat(open, 10_000)) + "1" + string.Concat(Enumerable.Repeat(close, 10_000)) + " }}";
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(source));
        Assert.Contains("line 1: the template exceeded its nesting depth limit of 1,000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Brackets_nested_just_below_the_limit_still_parse_and_render()
    {
        string source = "{{ " + new string('(', 990) + "1" + new string(')', 990) + " }}";
        Assert.Equal("1", Render(source));
    }

    [Fact]
    public void Deeply_nested_blocks_hit_the_nesting_limit_which_can_be_raised()
    {
        string Nested(int n) => string.Concat(Enumerable.Repeat("{% for i in [1] %}", n)) + "x" + string.Concat(Enumerable.Repeat("{% endfor %}", n));
        Assert.Contains("nesting depth limit of 1,000", Assert.Throws<TemplateException>(() => ChatTemplate.Parse(Nested(10_000))).Message, StringComparison.Ordinal);
        Assert.Contains("nesting depth limit of 20", Assert.Throws<TemplateException>(() =>
            ChatTemplate.Parse(Nested(21), limits: new TemplateLimits { MaxNestingDepth = 20 })).Message, StringComparison.Ordinal);
        Assert.Equal("x", ChatTemplate.Parse(Nested(15), limits: new TemplateLimits { MaxNestingDepth = 20 }).Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void A_value_that_contains_itself_fails_cleanly_when_printed()
    {
        var e = RenderFails("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
        Assert.Contains("line 1:", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ 1 / 0 }}", "line 1: division by zero")]
    [InlineData("{{ 9223372036854775807 + 1 }}", "line 1: integer overflow in '+'")]
    [InlineData("{{ -9223372036854775807 - 2 }}", "line 1: integer overflow in '-'")]
    [InlineData("{{ (2**62)|int|abs }}", "")]
    [InlineData("{{ (-9223372036854775807 - 1)|abs }}", "line 1: abs: integer overflow")]
    [InlineData("{{ 'abc'[9223372036854775807] }}", "")]
    [InlineData("{{ 'abc'[-9223372036854775807 - 1] }}", "")]
    [InlineData("{{ [1][-9223372036854775807 - 1] }}", "")]
    [InlineData("{{ 'abc'[::-9223372036854775807 - 1] }}", "")]
    [InlineData("{{ 1e308 * 10|int }}", "")]
    [InlineData("{{ (1e308 * 10)|round|int }}", "")]
    [InlineData("{{ 'x'|indent(-5) }}", "")]
    [InlineData("{{ range(0, 10, -9223372036854775807 - 1)|list }}", "")]
    [InlineData("{{ [1,2,3]|batch(-1)|list }}", "line 1:")]
    [InlineData("{{ 'a b'.split(' ', -9223372036854775807 - 1) }}", "")]
    [InlineData("{{ 'abc'.replace('a', 'b', 9223372036854775807) }}", "")]
    [InlineData("{{ [3, 'a', none]|sort }}", "line 1: '<' is not supported between")]
    [InlineData("{{ {'a': 1}|dictsort(by='nope') }}", "line 1:")]
    [InlineData("{{ 5|round(-9223372036854775807 - 1) }}", "")]
    [InlineData("{{ 2.5|round(400) }}", "")]
    [InlineData("{{ 1.5|round(2, 'nope') }}", "line 1:")]
    [InlineData("{{ 'x' ~ (1e308 * 10) ~ (0 * 1e308 * 10) }}", "")]
    public void Arithmetic_and_indexing_edge_cases_render_or_fail_with_a_template_error(string source, string messageStart)
    {
        try
        {
            Render(source);
        }
        catch (TemplateException e)
        {
            Assert.StartsWith(messageStart, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Errors_name_the_template_they_come_from()
    {
        var render = Assert.Throws<TemplateException>(() =>
            ChatTemplate.Parse("a\n{{ 1 // 0 }}", "/m/tokenizer_config.json chat_template").Render(new Dictionary<string, object?>()));
        Assert.Equal("/m/tokenizer_config.json chat_template: line 2: division by zero", render.Message);
        Assert.Equal(2, render.Line);
        Assert.Equal("division by zero", render.Detail);
        Assert.Equal("/m/tokenizer_config.json chat_template", render.TemplateName);

        var parse = Assert.Throws<TemplateException>(() => ChatTemplate.Parse("{% if %}", "/m/chat_template.jinja"));
        Assert.StartsWith("/m/chat_template.jinja: line 1: ", parse.Message, StringComparison.Ordinal);
    }
}
