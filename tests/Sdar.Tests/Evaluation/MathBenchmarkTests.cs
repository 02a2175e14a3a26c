using System.Text.Json;
using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class MathBenchmarkTests
{
    [Theory]
    [InlineData("so $\\boxed{5}$.", "5")]
    [InlineData("first \\boxed{1}, finally \\boxed{2}", "2")]
    [InlineData("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}")]
    [InlineData("\\boxed{\\left\\{ 1, \\{2\\} \\right\\}}", "\\left\\{ 1, \\{2\\} \\right\\}")]
    [InlineData("the answer is $\\boxed 7$ indeed", "7")]
    [InlineData("\\fbox{9}", "9")]
    [InlineData("\\boxed{3} and \\fbox{9}", "3")] // \fbox only where there is no \boxed at all
    [InlineData("\\boxed{unclosed", null)]
    [InlineData("no box, the answer is 5", null)]
    public void The_last_boxed_answer_is_extracted_with_nested_braces(string text, string? expected) =>
        Assert.Equal(expected, MathAnswer.LastBoxed(text));

    public static TheoryData<string, string, bool, string?> ReferenceCases()
    {
        var data = new TheoryData<string, string, bool, string?>();
        foreach (string line in File.ReadLines(BenchmarkFiles.Fixture("math-equivalence-cases.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            data.Add(root.GetProperty("a").GetString()!, root.GetProperty("b").GetString()!, root.GetProperty("is_equiv").GetBoolean(),
                root.GetProperty("strip_a").ValueKind == JsonValueKind.Null ? null : root.GetProperty("strip_a").GetString());
        }
        return data;
    }

    /// <summary>Pairs run through hendrycks/math's own is_equiv and _strip_string (null: the Python raises).</summary>
    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Equivalence_and_normal_form_match_the_reference_implementation(string a, string b, bool equivalent, string? normalised)
    {
        Assert.Equal(equivalent, MathAnswer.IsEquivalent(a, b));
        Assert.Equal(normalised, MathAnswer.Normalise(a));
    }

    [Fact]
    public void The_reference_cases_cover_the_rules_and_refusals() => Assert.True(ReferenceCases().Count >= 45);

    [Theory]
    [InlineData("\\boxed{33}")] // contains "3"
    [InlineData("\\boxed{-3}")]
    [InlineData("\\boxed{3.0}")] // MATH's normalisation does not make 3.0 equal 3
    [InlineData("The answer is 3.")] // no box
    [InlineData("\\boxed{3} is wrong, it is \\boxed{4}")]
    public void Answers_a_naive_scorer_would_accept_are_wrong(string completion)
    {
        var item = new MathItem(0, "p", null, "3");
        Assert.False(new MathBenchmark().Score(item, completion).Correct);
    }

    [Fact]
    public void Every_real_math500_solution_boxes_its_own_answer()
    {
        var benchmark = new MathBenchmark();
        var items = benchmark.Read(BenchmarkFiles.Fixture("math500-10.jsonl")).Cast<MathItem>().ToList();
        Assert.Equal(10, items.Count);
        Assert.All(items, item =>
        {
            var verdict = benchmark.Score(item, item.Solution!);
            Assert.True(verdict.Correct, $"item {item.Index}: {verdict.ExtractedAnswer} vs {item.Answer}");
        });
        Assert.Contains(items, i => i.Answer.Contains('\\', StringComparison.Ordinal));
    }

    [Fact]
    public void A_solution_without_answer_gives_the_boxed_reference_and_a_bad_one_is_an_error_naming_the_line()
    {
        using var file = BenchmarkFiles.Write("math.jsonl", """{"problem": "p", "solution": "so $\\boxed{\\frac12}$"}""", """{"problem": "p", "solution": "no box"}""");
        var error = Assert.Throws<BenchmarkDataException>(() => new MathBenchmark().Read(file.Path));
        Assert.Contains("line 2", error.Message);
        using var good = BenchmarkFiles.Write("math.jsonl", """{"problem": "p", "solution": "so $\\boxed{\\frac12}$"}""");
        var item = (MathItem)new MathBenchmark().Read(good.Path)[0];
        Assert.Equal("\\frac12", item.Answer);
        Assert.True(new MathBenchmark().Score(item, "\\boxed{0.5}").Correct);
    }

    [Fact]
    public void The_vote_key_is_the_normal_form_so_equivalent_answers_vote_together()
    {
        var item = new MathItem(0, "p", null, "\\frac{1}{2}");
        var keys = new[] { "\\boxed{\\dfrac12}", "\\boxed{1/2}", "\\boxed{3}" }.Select(c => new MathBenchmark().Score(item, c).VoteKey).ToArray();
        Assert.Equal(keys[0], keys[1]);
        Assert.Equal(0, MajorityVote.Winner(keys));
    }
}
