using Sdar.Templates;
using static Sdar.Tests.Templates.TemplateEngineTests;

namespace Sdar.Tests.Templates;

/// <summary>Filters (expected strings checked against Python Jinja2 3.1.6 with transformers' tojson).</summary>
public class TemplateFilterTests
{
    private static readonly IReadOnlyList<object?> Conversation = List(
        Dict(("role", "user"), ("content", "a")), Dict(("role", "assistant"), ("content", "b")), Dict(("role", "user"), ("content", "c")));

    public class Strings
    {
        [Fact]
        public void Case_trim_and_replace_filters()
        {
            Assert.Equal("HELLOhelloA-B CA-b", Render("{{ 'Hello'|upper }}{{ 'Hello'|lower }}{{ 'a-b c'|title }}{{ 'aXb'|replace('X', '-')|capitalize }}"));
            Assert.Equal("Hello World Hello a", Render("{{ 'hello world'|title }} {{ 'hELLO'|capitalize }} {{ '  a  '|trim }}"));
            Assert.Equal("|b", Render("{{ '  x  '|trim('x ') }}|{{ 'abc'|trim('ac') }}"));
        }

        [Fact]
        public void Indent_skips_the_first_line_and_blank_lines_by_default()
        {
            Assert.Equal("a\n  b|  a\n  b", Render("{{ 'a\\nb'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}"));
            Assert.Equal("    text with\n    newlines\n\n    here|a\n  \n  b|a\n",
                Render("{{ 'text with\\nnewlines\\n\\nhere'|indent(4, first=true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\n'|indent }}"));
        }

        [Fact]
        public void Escape_is_html_escaping_and_safe_is_identity()
        {
            Assert.Equal("&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;|x", Render("{{ '<a href=\"x\">&\\'</a>'|e }}|{{ 'x'|safe }}"));
        }

        [Fact]
        public void String_filter_and_conversions()
        {
            Assert.Equal("5", Render("{{ x | string | length }}", ("x", 12345L)));
            Assert.Equal("3 42 0 1.5 2.0 3", Render("{{ 3.0|int }} {{ '42'|int }} {{ 'x'|int }} {{ '1.5'|float }} {{ 2.5|round }} {{ 3|round }}"));
            Assert.Equal("7.0 7.2 7.2 7.3", Render("{{ 7.0|round(1) }} {{ 7.25|round(1) }} {{ 7.26|round(1, 'floor') }} {{ 7.21|round(1, 'ceil') }}"));
        }
    }

    public class Sequences
    {
        [Fact]
        public void Length_first_last_list_count()
        {
            Assert.Equal("13['a', 'b', 'c']32", Render("{{ [1,2,3]|first }}{{ [1,2,3]|last }}{{ 'abc'|list }}{{ 'abc'|length }}{{ [1,2]|count }}"));
        }

        [Fact]
        public void Join_map_and_selectattr_compose()
        {
            Assert.Equal("a, c|1", Render("{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(', ') }}|{{ messages|rejectattr('role', 'eq', 'user')|list|length }}",
                ("messages", Conversation)));
            Assert.Equal("1,2 [1, 2]", Render("{{ [1,2]|map('string')|join(',') }} {{ [{'a':1},{'a':2}]|map(attribute='a')|list }}"));
            Assert.Equal("ab1-2x,y", Render("{{ ['a','b']|join }}{{ [1,2]|join('-') }}{{ [{'n':'x'},{'n':'y'}]|join(',', attribute='n') }}"));
        }

        [Fact]
        public void Select_and_reject_use_tests_or_truthiness()
        {
            Assert.Equal("[1, 'a'][1, 3][1, 3]", Render("{{ [none, 1, 0, 'a'] | select | list }}{{ [1,2,3,4] | select('odd') | list }}{{ [1,2,3] | reject('even') | list }}"));
            Assert.Equal("2", Render("{{ messages|selectattr('role', 'in', ['user', 'system'])|list|length }}", ("messages", Conversation)));
        }

        [Fact]
        public void Sorting_and_aggregates()
        {
            Assert.Equal("[('a', 2), ('b', 1)][3, 2, 1]['A', 'a', 'b'][1, 2]65",
                Render("{{ {'b':1,'a':2}|dictsort }}{{ [3,1,2]|sort(reverse=true) }}{{ ['b','A','a']|sort }}{{ [1,1,2]|unique|list }}{{ [1,2,3]|sum }}{{ [1,5,3]|max }}"));
            Assert.Equal("[1, 2]3{'n': 'b', 'v': 2}",
                Render("{% set items = [{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}] %}{{ items|sort(attribute='n')|map(attribute='v')|list }}{{ items|sum(attribute='v') }}{{ items|max(attribute='v') }}"));
            Assert.Equal("[3, 2, 1]cba3", Render("{{ [1,2,3]|reverse|list }}{{ 'abc'|reverse }}{{ 'one two  three'|wordcount }}"));
        }
    }

    public class ToJson
    {
        private static readonly IReadOnlyDictionary<string, object?> Tool = Dict(
            ("name", "get_weather"), ("z", 1.5), ("a", List(1L, true, null, "ü\n\t\"x\\")), ("e", Dict()), ("l", List()));

        [Fact]
        public void Uses_python_separators_and_keeps_non_ascii()
        {
            Assert.Equal("{\"name\": \"get_weather\", \"z\": 1.5, \"a\": [1, true, null, \"ü\\n\\t\\\"x\\\\\"], \"e\": {}, \"l\": []}", Render("{{ t|tojson }}", ("t", Tool)));
        }

        [Fact]
        public void Indent_uses_comma_newline_and_keeps_empty_containers_inline()
        {
            Assert.Equal("{\n  \"a\": {\n    \"b\": []\n  }\n}", Render("{{ {'a':{'b':[]}}|tojson(indent=2) }}"));
        }

        [Fact]
        public void Separators_sort_keys_and_ensure_ascii_options()
        {
            Assert.Equal("{\"name\":\"get_weather\",\"z\":1.5,\"a\":[1,true,null,\"ü\\n\\t\\\"x\\\\\"],\"e\":{},\"l\":[]}", Render("{{ t|tojson(separators=(',',':')) }}", ("t", Tool)));
            Assert.Equal("{\"a\": [1, true, null, \"ü\\n\\t\\\"x\\\\\"], \"e\": {}, \"l\": [], \"name\": \"get_weather\", \"z\": 1.5}", Render("{{ t|tojson(sort_keys=true) }}", ("t", Tool)));
            Assert.Equal("\"\\u00e9\\ud83d\\ude00\"", Render("{{ 'é😀'|tojson(ensure_ascii=true) }}"));
        }

        [Fact]
        public void Tuples_become_arrays_and_floats_keep_their_point()
        {
            Assert.Equal("[1, [2, 3]][1, 2]\"x\"1.0null", Render("{{ [1, [2, 3]]|tojson }}{{ (1, 2)|tojson }}{{ 'x'|tojson }}{{ 1.0|tojson }}{{ none|tojson }}"));
        }

        [Fact]
        public void Undefined_is_not_serializable()
        {
            var e = Assert.Throws<TemplateException>(() => Render("{{ missing|tojson }}"));
            Assert.Contains("'missing' is undefined", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Strftime_now_formats_like_python()
    {
        var args = new CallArgs("strftime_now", [], CallArgs.NoKeywords, 1);
        Assert.Equal("05 Mar 2024, Tuesday 14:07:09 PM",
            Globals.Strftime(new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Local), "%d %b %Y, %A %H:%M:%S %p", args));
        Assert.Equal(DateTime.Now.Year.ToString(System.Globalization.CultureInfo.InvariantCulture)[..2], Render("{{ strftime_now('%Y')[:2] }}"));
    }
}
