using System.Text;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a file's bytes: bit flips, byte changes, inserts, deletes, truncation, chunk duplication
/// and splices of hostile snippets (lone surrogate escapes, template tags, huge numbers, deep nesting). The same
/// seed gives the same mutants, so a failure reproduces from its seed and index.
/// </summary>
internal sealed class Mutator(int seed, IReadOnlyList<string> hostileSnippets)
{
    private readonly Random _random = new(seed);

    /// <summary>Snippets that upset JSON readers: bad escapes, wrong types, huge numbers, deep nesting.</summary>
    public static readonly IReadOnlyList<string> JsonSnippets =
    [
        "\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\"", "\\", "{", "}", "[", "]", ",", ":", "null", "true", "-1",
        "1e309", "-1e309", "99999999999999999999", "2147483648", "16777216", "-2147483649", "0.5", "\"\"", "{}", "[]",
        "{\"type\": \"Split\"}", "{\"Regex\": \"(a+)+(?=c)\"}", "{\"Regex\": \"[\"}", "\"(?<\"", "\"\\\\\"",
        new string('[', 300), new string('{', 300) + "\"a\":", "{{", "{%", "range(10**10)",
    ];

    /// <summary>Snippets that upset a template engine: tags, huge loops and strings, recursion, deep nesting.</summary>
    public static readonly IReadOnlyList<string> TemplateSnippets =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{ range(10**10)|list }}", "{% for i in range(10**10) %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}", "{% endfor %}", "{% endif %}", "{% else %}",
        "{{ 'x' * 10**10 }}", "{{ 'x'|indent(10**9) }}", "{{ [[1]]|tojson(indent=10**9) }}", "* 9999999999", "** 10**18",
        "{% macro f(n) %}{{ f(n-1) }}{{ f(n-1) }}{% endmacro %}{{ f(40) }}", "{% set ns = namespace(s='x') %}",
        "{% set ns.s = ns.s ~ ns.s %}", "{{ ns }}", "(", ")", "[", "]", new string('(', 2000), "not not not not ",
        "|upper|lower|trim", ".strip()", "[0]", "[-1]", "[::-1]", "loop.", "messages", "message['content']", "\ud800",
        "\uffff", "\0", "9223372036854775807", "-9223372036854775808", "1e309", "1 / 0", "|int", "|float", "|tojson",
        "|join(", "|map(attribute='x')", "|selectattr(", "raise_exception('x')", "caller()", "{% call f() %}",
        "{% filter upper %}", "{% set x %}", "{% generation %}", "{% break %}", "{% continue %}", "is defined", "is not none",
        "if x else", " ~ ", " + ", " in ", "'", "\"", "\\", "\n",
    ];

    public byte[] Mutate(byte[] original, out string description)
    {
        var bytes = new List<byte>(original);
        int steps = 1 + _random.Next(3);
        var done = new StringBuilder();
        for (int s = 0; s < steps; s++)
        {
            if (done.Length > 0) done.Append(", ");
            done.Append(MutateOnce(bytes));
        }
        description = done.ToString();
        return [.. bytes];
    }

    private string MutateOnce(List<byte> bytes)
    {
        int at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
        switch (_random.Next(8))
        {
            case 0 when bytes.Count > 0:
                int bit = _random.Next(8);
                bytes[at] ^= (byte)(1 << bit);
                return $"flip bit {bit} at {at}";
            case 1 when bytes.Count > 0:
                byte value = (byte)_random.Next(256);
                bytes[at] = value;
                return $"set byte {at} to 0x{value:X2}";
            case 2:
                byte[] inserted = new byte[1 + _random.Next(8)];
                _random.NextBytes(inserted);
                bytes.InsertRange(at, inserted);
                return $"insert {inserted.Length} random bytes at {at}";
            case 3 when bytes.Count > 0:
                int length = Math.Min(1 + _random.Next(64), bytes.Count - at);
                bytes.RemoveRange(at, length);
                return $"delete {length} bytes at {at}";
            case 4 when bytes.Count > 0:
                bytes.RemoveRange(at, bytes.Count - at);
                return $"truncate at {at}";
            case 5 when bytes.Count > 0:
                int chunk = Math.Min(1 + _random.Next(256), bytes.Count - at);
                int to = _random.Next(bytes.Count);
                bytes.InsertRange(to, bytes.GetRange(at, chunk));
                return $"duplicate {chunk} bytes from {at} to {to}";
            default:
                string snippet = hostileSnippets[_random.Next(hostileSnippets.Count)];
                bytes.InsertRange(at, Encoding.UTF8.GetBytes(snippet));
                return $"splice {Show(snippet)} at {at}";
        }
    }

    /// <summary>Picks a random element of <paramref name="items"/>.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    private static string Show(string s) => s.Length > 30 ? $"'{s[..30]}...' ({s.Length} chars)" : $"'{s}'";
}
