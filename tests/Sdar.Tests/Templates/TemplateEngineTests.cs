using Sdar.Templates;

namespace Sdar.Tests.Templates;

/// <summary>
/// Engine behaviour, one nested class per feature. Expected strings were checked against Python Jinja2 3.1.6 in
/// transformers' configuration (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols).
/// </summary>
public class TemplateEngineTests
{
    internal static string Render(string source, params (string Name, object? Value)[] variables) =>
        ChatTemplate.Parse(source).Render(variables.ToDictionary(v => v.Name, v => v.Value));

    internal static IReadOnlyList<object?> List(params object?[] items) => items;

    internal static IReadOnlyDictionary<string, object?> Dict(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    public class Whitespace
    {
        [Fact]
        public void Block_tag_alone_on_its_line_leaves_no_trace()
        {
            Assert.Equal("  x\n  y  ", Render("  {% if true %}\n  x\n  {% endif %}\n  y  \n"));
        }

        [Fact]
        public void Trim_blocks_removes_only_the_first_newline_after_a_block_tag()
        {
            Assert.Equal("\n\n\n", Render("\n\n{% if true %}\n\n{% endif %}\n\n"));
        }

        [Fact]
        public void Lstrip_blocks_does_not_apply_to_print_tags_or_text_after_other_content()
        {
            Assert.Equal("a  x", Render("{{ 'a' }}  {% if true %}x{% endif %}"));
            Assert.Equal("a  b", Render("a {% if true %}\n b{% endif %}\n"));
        }

        [Fact]
        public void Dash_strips_all_whitespace_including_newlines_on_that_side()
        {
            Assert.Equal("ab  \nc", Render("{{- 'a' -}}  \n  {{- 'b' }}  \n{{ 'c' }}"));
            Assert.Equal("abc", Render("a\n    {%- if true %}\nb\n    {%- endif %}\nc"));
        }

        [Fact]
        public void Plus_disables_lstrip_and_trim()
        {
            Assert.Equal("x  y\nz", Render("x  {%+ if true %}y{% endif +%}\nz"));
        }

        [Fact]
        public void Comments_render_nothing_and_strip_like_blocks()
        {
            Assert.Equal("z", Render("  {#c#}\nz"));
            Assert.Equal("ab", Render("{# multi\nline #}a\n{#- x -#}\n b"));
        }

        [Fact]
        public void One_trailing_newline_of_the_source_is_dropped_and_crlf_becomes_lf()
        {
            Assert.Equal("1\n2", Render("{{ 1 }}\n{{ 2 }}\n"));
            Assert.Equal("a\nb\nc", Render("a\r\nb\r\n{% if true %}\r\nc{% endif %}\r\n"));
        }

        [Fact]
        public void Raw_block_is_emitted_verbatim()
        {
            Assert.Equal("{{ x }}", Render("{% raw %}{{ x }}{% endraw %}\n"));
            Assert.Equal("x\n\nabc\nd", Render("x\n  {% raw %}\nabc\n  {% endraw %}\nd"));
        }

        [Fact]
        public void Nested_loops_indented_in_the_source_render_flat()
        {
            Assert.Equal("    1a\n    1b\n    2a\n    2b\n",
                Render("{% for x in [1,2] %}\n  {% for y in 'ab' %}\n    {{ x }}{{ y }}\n  {% endfor %}\n{% endfor %}"));
        }
    }

    public class Loops
    {
        [Fact]
        public void Loop_variable_exposes_index_first_last_length_and_neighbours()
        {
            Assert.Equal("1/23;2/22;", Render("{% for x in [1,2,3] if x > 1 %}{{loop.index}}/{{loop.length}}{{loop.previtem}}{{loop.nextitem}};{% endfor %}"));
            Assert.Equal("21TrueFalse10FalseTrue", Render("{% for x in 'ab' %}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{% endfor %}"));
            Assert.Equal("0,1,2", Render("{% for i in range(3) %}{{ loop.index0 }}{{ ',' if not loop.last }}{% endfor %}"));
        }

        [Fact]
        public void Else_runs_when_nothing_was_iterated()
        {
            Assert.Equal("b", Render("{% for x in [] %}a{% else %}b{% endfor %}"));
        }

        [Fact]
        public void Tuple_unpacking_over_dict_items()
        {
            Assert.Equal("x=1;y=2;", Render("{% for a, b in {'x':1,'y':2}.items() %}{{a}}={{b}};{% endfor %}"));
            Assert.Equal("37", Render("{% for (a, b) in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}"));
        }

        [Fact]
        public void Break_and_continue_control_the_loop()
        {
            Assert.Equal("13", Render("{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
                ("xs", List(1L, 2L, 3L, 4L, 5L))));
        }

        [Fact]
        public void Set_inside_a_loop_does_not_leak_out_or_into_the_next_iteration()
        {
            Assert.Equal("[0][0]0", Render("{% set x = 0 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}"));
            Assert.Equal("[]", Render("{% for i in [1,2] %}{% if i == 2 %}[{{ x }}]{% endif %}{% set x = i %}{% endfor %}"));
        }

        [Fact]
        public void Inner_loop_shadows_outer_loop_variable()
        {
            Assert.Equal("False121", Render("{{ loop is defined }}{% for x in [1] %}{% for y in [2,3] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}"));
        }

        [Fact]
        public void Loop_cycle_alternates_values()
        {
            Assert.Equal("odd even odd ", Render("{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", ("xs", List(1L, 2L, 3L))));
        }

        [Fact]
        public void Iterating_a_dict_yields_its_keys_in_insertion_order()
        {
            Assert.Equal("zy", Render("{% for k in {'z':1,'y':2} %}{{ k }}{% endfor %}"));
        }
    }

    public class Assignments
    {
        [Fact]
        public void Set_in_an_if_block_is_visible_after_it()
        {
            Assert.Equal("5", Render("{% if true %}{% set x = 5 %}{% endif %}{{ x }}"));
        }

        [Fact]
        public void Namespace_attributes_survive_loop_iterations()
        {
            Assert.Equal("4", Render("{% set ns = namespace(a=1) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}"));
        }

        [Fact]
        public void Set_unpacks_tuples_and_block_set_captures_output()
        {
            Assert.Equal("12(1, 2)", Render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}"));
            Assert.Equal("[  inner 2 ]", Render("{% set x %}  inner {{ 1 + 1 }} {% endset %}[{{ x }}]"));
        }

        [Fact]
        public void With_block_scopes_its_variables()
        {
            Assert.Equal("1", Render("{% with a = 1 %}{{ a }}{% endwith %}{{ a }}"));
        }

        [Fact]
        public void Macros_take_defaults_keywords_and_see_later_globals()
        {
            Assert.Equal("Hello, Bob! Hi, Al! Hello, Z!",
                Render("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }} {{ greet('Al', greeting='Hi') }} {{ greet(name='Z') }}"));
            Assert.Equal("2", Render("{% set y = 1 %}{% macro m() %}{{ y }}{% endmacro %}{% set y = 2 %}{{ m() }}"));
        }

        [Fact]
        public void Call_block_passes_its_body_as_caller()
        {
            Assert.Equal("[n=5]", Render("{% macro wrap() %}[{{ caller(5) }}]{% endmacro %}{% call(n) wrap() %}n={{ n }}{% endcall %}"));
        }

        [Fact]
        public void Filter_block_and_generation_block_render_their_bodies()
        {
            Assert.Equal("ABCD", Render("{% filter upper %}abc{{ 'd' }}{% endfilter %}"));
            Assert.Equal("ab", Render("{% for m in messages %}{% generation %}{{ m }}{% endgeneration %}{% endfor %}", ("messages", List("a", "b"))));
        }
    }

    public class Expressions
    {
        [Fact]
        public void Arithmetic_follows_python()
        {
            Assert.Equal("3 -4 3.5 2 1024 0.5 2.0 3.0", Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 4 / 2 }} {{ 7.5 // 2 }}"));
            Assert.Equal("abcabc [1, 1] 1 -1 1.5 0.5", Render("{{ 'abc' * 2 }} {{ [1] * 2 }} {{ -5 % 3 }} {{ 5 % -3 }} {{ 5.5 % 2 }} {{ -5.5 % 2 }}"));
            Assert.Equal("9184", Render("{{ 10 // 3 * 3 }}{{ 2 * 3 ** 2 }}{{ -2 ** 2 }}"));
        }

        [Fact]
        public void Floats_print_like_python_repr()
        {
            Assert.Equal("2 2.5 0.30000000000000004 1e+20 1.2345678901234568e+17 0.3333333333333333",
                Render("{{ 1 + true }} {{ 10 / 4 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 123456789012345678.0 }} {{ 1/3 }}"));
            Assert.Equal("1.0|1e+16|1e-05|0.0001|1000000000000000.0", Render("{{ 1.0 }}|{{ 1e16 }}|{{ 1e-5 }}|{{ 0.0001 }}|{{ 1e15 }}"));
        }

        [Fact]
        public void Values_print_like_python_str()
        {
            Assert.Equal("None|[1, 'a', None, True, 1.5]|(1,)|{'a': 1}", Render("{{ none }}|{{ [1,'a',none,true,1.5] }}|{{ (1,) }}|{{ {'a':1} }}"));
            Assert.Equal("it's[\"it's\", 'a\"b', 'a\\nb']", Render("{{ 'it\\'s' }}{{ ['it\\'s', 'a\"b', 'a\\nb'] }}"));
        }

        [Fact]
        public void String_literals_decode_python_escapes_and_adjacent_literals_join()
        {
            Assert.Equal("aAé\n", Render("{{ 'a\\x41\\u00e9\\n' }}"));
            Assert.Equal("ab", Render("{{ 'a' 'b' }}"));
            Assert.Equal("1016", Render("{{ 1_000 + 0x10 }}"));
        }

        [Fact]
        public void And_or_return_operands_and_inline_if_defaults_to_undefined()
        {
            Assert.Equal("3|y|dflt|0|3|True", Render("{{ a if b else c }}|{{ 'y' if true }}|{{ x or 'dflt' }}|{{ 0 and 1 }}|{{ 2 and 3 }}|{{ not 0 }}",
                ("a", 1L), ("b", false), ("c", 3L)));
            Assert.Equal("|", Render("{{ 1 if false }}|"));
        }

        [Fact]
        public void Comparisons_chain_and_mix_ints_floats_and_bools()
        {
            Assert.Equal("True True True True", Render("{{ (1 == 1.0) }} {{ true == 1 }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }}"));
            Assert.Equal("TrueTrueTrueTrueFalseTrue", Render("{{ 1 == 1 == 1 }}{{ 1 < 2 > 1 }}{{ 'a' != 'b' }}{{ [1,2] == [1,2] }}{{ (1,2) == [1,2] }}{{ {'a':1} == {'a':1} }}"));
        }

        [Fact]
        public void Membership_works_on_strings_lists_dicts_and_undefined()
        {
            Assert.Equal("TrueTrueTrueTrueFalse", Render("{{ 'ab' in 'cabd' }}{{ 1 in [1,2] }}{{ 'k' in {'k':1} }}{{ 3 not in [1] }}{{ 'z' in x }}"));
        }

        [Fact]
        public void Operator_precedence_matches_jinja2()
        {
            // Jinja2, not Python: a filter applies to the negated value, ** is left-associative, ~ binds looser than *.
            Assert.Equal("3 1 64 5.0 16", Render("{{ -x|abs }} {{ -1 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 1 + 2 * 3 - 4 / 2 }} {{ 1 ~ 2 * 3 }}", ("x", 3L)));
            Assert.Equal("2", Render("{{ messages|length - 1 }}", ("messages", List(1L, 2L, 3L))));
        }

        [Fact]
        public void Indexing_and_slicing_follow_python()
        {
            Assert.Equal("[1, 3][2, 3]el[1, 2](2, 3)", Render("{{ [1, 2, 3][::2] }}{{ [1, 2, 3][-2:] }}{{ 'hello'[1:3] }}{{ [1,2,3][:-1] }}{{ (1,2,3)[1:] }}"));
            Assert.Equal("cba[][1, 2]bdfd[3, 2, 1]", Render("{{ 'abc'[::-1] }}{{ [1,2,3][5:] }}{{ [1,2,3][-10:2] }}{{ 'abcdef'[1:5:2] }}{{ 'abcdef'[5:1:-2] }}{{ [1,2,3][::-1] }}"));
            Assert.Equal("userb", Render("{{ messages[0]['role'] }}{{ messages[-1].content }}",
                ("messages", List(Dict(("role", "user"), ("content", "a")), Dict(("role", "assistant"), ("content", "b"))))));
            Assert.Equal("5", Render("{{ x.0 }}", ("x", List(5L))));
        }

        [Fact]
        public void Strings_index_and_measure_by_code_point()
        {
            Assert.Equal("3😀x😀é\"é😀x\"", Render("{{ 'é😀x'|length }}{{ 'é😀x'[1] }}{{ 'é😀x'[::-1] }}{{ 'é😀x'|tojson }}"));
        }

        [Fact]
        public void Dict_literals_can_contain_closing_braces_inside_print_tags()
        {
            Assert.Equal("{'a': {'b': 1}}", Render("{{ {'a': {'b': 1}} }}"));
            Assert.Equal("}}%}{%", Render("{{ '}}' }}{{ '%}' }}{% set x = '{%' %}{{ x }}"));
        }
    }

    public class StringAndDictMethods
    {
        [Fact]
        public void String_methods_behave_like_python()
        {
            Assert.Equal("hi|hi|['a', 'b', 'c']|['a', 'b c']|['a,b', 'c']|TrueTrue",
                Render("{{ '  hi  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ ' a b  c '.split() }}|{{ 'a b c'.split(None, 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x','c')) }}"));
            Assert.Equal("bba22a-bHello WorldHI", Render("{{ 'aaa'.replace('a', 'b', 2) }}{{ 'abc'.find('c') }}{{ 'abcabc'.count('bc') }}{{ '-'.join(['a','b']) }}{{ 'Hello World'.title() }}{{ 'hi'.upper() }}"));
            Assert.Equal("['l1', 'l2', 'l3']ba", Render("{{ 'l1\\nl2\\r\\nl3'.splitlines() }}{{ 'ab'.lstrip('a') }}{{ 'ab'.rstrip('b') }}"));
        }

        [Fact]
        public void Qwen3_style_think_splitting_works()
        {
            const string content = "<think>\nreason\n</think>\n\nanswer";
            Assert.Equal("answer|reason", Render(
                "{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}", ("c", content)));
        }

        [Fact]
        public void Dict_methods_get_items_keys_values()
        {
            Assert.Equal("1None5['a', 'b'][1, 2][('a', 1), ('b', 2)]",
                Render("{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 5) }}{{ d.keys()|list }}{{ d.values()|list }}{{ d|items|list }}", ("d", Dict(("a", 1L), ("b", 2L)))));
        }

        [Fact]
        public void Calling_an_unknown_method_names_the_type()
        {
            var e = Assert.Throws<TemplateException>(() => Render("{{ 'a'.nomethod() }}"));
            Assert.Contains("'str' object has no method 'nomethod'", e.Message, StringComparison.Ordinal);
        }
    }

    public class UndefinedValues
    {
        [Fact]
        public void Undefined_is_falsy_empty_and_not_defined()
        {
            Assert.Equal("[]False", Render("[{{ x }}]{{ x is defined }}"));
            Assert.Equal("0||[]", Render("{{ a|length }}{{ a|upper }}|{{ a|first }}|{{ a|list }}"));
            Assert.Equal("xy", Render("{{ 'x' ~ a ~ 'y' }}"));
            Assert.Equal("E", Render("{% if x %}{{ x }}{% elif y %}Y{% else %}E{% endif %}"));
        }

        [Fact]
        public void Attribute_or_item_of_undefined_is_undefined()
        {
            Assert.Equal("|False|False", Render("{{ x.y.z }}|{{ x.y is defined }}|{{ m.k[0] is defined }}", ("x", Dict())));
            Assert.Equal("False", Render("{{ messages[5] is defined }}", ("messages", List())));
        }

        [Fact]
        public void Arithmetic_on_undefined_names_the_variable()
        {
            var e = Assert.Throws<TemplateException>(() => Render("\n{{ x + 1 }}"));
            Assert.Equal(2, e.Line);
            Assert.Contains("'x' is undefined", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Default_filter_replaces_undefined_and_optionally_falsy()
        {
            Assert.Equal("dfNone", Render("{{ x|default('d') }}{{ ''|default('e') }}{{ ''|default('f', true) }}{{ none|default('g') }}"));
        }
    }

    public class IsTests
    {
        [Fact]
        public void Type_tests_follow_python_types()
        {
            Assert.Equal("FalseTrueTrueTrueTrueTrueTrueTrueTrueFalseTrue",
                Render("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ 1 is number }}{{ true is true }}{{ 0 is false }}{{ 1 is not string }}"));
            Assert.Equal("TrueTrueTrueTrueTrueFalseTrue", Render("{{ 2 is even }}{{ 3 is odd }}{{ 6 is divisibleby 3 }}{{ 1 is eq 1 }}{{ true is number }}{{ true is integer }}{{ 1.0 is float }}"));
        }

        [Fact]
        public void Comparison_tests_take_a_bare_argument()
        {
            Assert.Equal("TrueTrueTrueTrueTrueTrueTrue", Render("{{ 'a' is in 'abc' }}{{ 3 is gt 2 }}{{ 2 is le 2 }}{{ 'x' is lower }}{{ 'X' is upper }}{{ 1 is sameas 1 }}{{ none is sameas none }}"));
        }

        [Fact]
        public void Not_binds_looser_than_is()
        {
            Assert.Equal("FalseTrue", Render("{{ not x is defined }}{{ x is none or x }}", ("x", null)));
            Assert.Equal("b", Render("{{ 'a' if x is defined and x else 'b' }}"));
        }
    }
}
