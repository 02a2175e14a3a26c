using System.Text;
using System.Text.RegularExpressions;
using Sdar.Templates;
using Sdar.Tests.Templates;
using Xunit.Abstractions;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Seeded mutants of the real chat templates (Qwen3, Llama 3, Mistral, Gemma, ChatML): every one parses and
/// renders a conversation with tools, or fails with a <see cref="TemplateException"/>; never another exception,
/// a hang (the render clock is 1 s) or unbounded memory or output.
/// </summary>
public sealed class TemplateFuzzTests(ITestOutputHelper output)
{
    /// <summary>Expressions swapped in for a name or literal inside a tag, so the mutant often still parses.</summary>
    private static readonly string[] HostileExpressions =
    [
        "range(10**10)", "range(100000)", "(10**18)", "'x' * 10**10", "('ab' * 1000000)", "none", "[]", "{}", "-1", "loop",
        "namespace()", "messages", "message", "tools", "1/0", "(9223372036854775807 + 1)", "'%0999999999d'|format(1)",
        "'a'|indent(10**9)", "(messages * 100000)", "messages|tojson(indent=10**9)", "(1e308 * 10)", "(0 * 1e308 * 10)",
        "'\\ud800'", "caller()", "varargs", "kwargs", "x.y.z", "messages[10**18]", "messages[-10**18]", "messages[::0]",
        "(messages|first).content", "raise_exception('boom')", "(((((((((1)))))))))", "not not not 1", "1 if 2 else 3",
    ];

    private static readonly Regex NameOrLiteral = new(@"[A-Za-z_][A-Za-z0-9_]*|'[^'\n]*'|\d+", RegexOptions.Compiled);

    /// <summary>Replaces one name or literal inside a <c>{{ }}</c> or <c>{% %}</c> tag with a hostile expression.</summary>
    private static string SpliceExpression(string source, Mutator random, out string description)
    {
        var candidates = new List<(int Index, int Length)>();
        foreach (Match tag in Regex.Matches(source, @"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline))
            foreach (Match m in NameOrLiteral.Matches(tag.Value))
                candidates.Add((tag.Index + m.Index, m.Length));
        (int index, int length) = random.Pick(candidates);
        string expression = random.Pick(HostileExpressions);
        description = $"replace '{source.Substring(index, length)}' at {index} with '{expression}'";
        return string.Concat(source.AsSpan(0, index), expression, source.AsSpan(index + length));
    }

    private static readonly Dictionary<string, object?> Variables = ChatTemplate.ChatVariables(
        [
            ChatMessages.Message("user", "Weather in Zürich?"),
            ChatMessages.Message("assistant", "<think>\nlook it up\n</think>\n\nIt is 21.5 °C."),
            ChatMessages.Message("user", "Thanks"),
        ],
        addGenerationPrompt: true, enableThinking: false, bosToken: "<s>", eosToken: "</s>", tools: RealTemplates.Tools());

    public static TheoryData<string, int, int> Templates => new()
    {
        { "Qwen3", 11, 900 },
        { "Llama 3", 12, 500 },
        { "Mistral", 13, 500 },
        { "Gemma", 14, 500 },
        { "ChatML", 15, 500 },
    };

    [Theory]
    [MemberData(nameof(Templates))]
    public void Mutants_of_a_real_chat_template_render_or_fail_with_a_template_exception(string name, int seed, int count)
    {
        string source = RealTemplates.All.Single(t => t.Name == name).Source;
        byte[] original = Encoding.UTF8.GetBytes(source);
        var harness = new FuzzHarness($"{name} chat template", seed) { MessageMustName = $"{name} mutant " };
        var mutator = new Mutator(seed, Mutator.TemplateSnippets);
        for (int i = 0; i < count; i++)
        {
            // Half byte mutants (decoded with U+FFFD for broken sequences), half hostile expressions in valid syntax.
            string mutation;
            string mutant = i % 2 == 0
                ? Encoding.UTF8.GetString(mutator.Mutate(original, out mutation))
                : SpliceExpression(source, mutator, out mutation);
            harness.Run(i, mutation, () =>
            {
                var template = ChatTemplate.Parse(mutant, $"{name} mutant {i}", FuzzLimits.Template);
                string rendered = template.Render(Variables);
                Assert.True(rendered.Length <= FuzzLimits.Template.MaxOutputChars);
            });
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }
}
