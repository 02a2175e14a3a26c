using System.Text.Json;
using Sdar.Evaluation;
using Sdar.Evaluation.IfEval;

namespace Sdar.Tests.Evaluation;

public class IfEvalBenchmarkTests
{
    private static (IReadOnlyList<BenchmarkItem> Items, IReadOnlyList<IReadOnlyList<string>> Responses) Fixture()
    {
        var items = new IfEvalBenchmark().Read(BenchmarkFiles.Fixture("ifeval-12.jsonl"));
        return (items, CompletionsFile.Read(BenchmarkFiles.Fixture("ifeval-12-gpt4-responses.jsonl"), items));
    }

    [Fact]
    public void Every_gpt4_response_gets_the_official_verdict_strict_and_loose()
    {
        var (items, responses) = Fixture();
        var official = File.ReadLines(BenchmarkFiles.Fixture("ifeval-12-gpt4-verdicts.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("key").GetInt32());
        Assert.Equal(12, items.Count);
        foreach (IfEvalItem item in items.Cast<IfEvalItem>())
        {
            var verdict = new IfEvalBenchmark().Score(item, responses[item.Index][0]).Instructions!;
            var expected = official[item.Key];
            Assert.True(expected.GetProperty("strict").EnumerateArray().Select(b => b.GetBoolean()).SequenceEqual(verdict.FollowedStrict), $"key {item.Key} strict: [{string.Join(", ", verdict.FollowedStrict)}]");
            Assert.True(expected.GetProperty("loose").EnumerateArray().Select(b => b.GetBoolean()).SequenceEqual(verdict.FollowedLoose), $"key {item.Key} loose: [{string.Join(", ", verdict.FollowedLoose)}]");
        }
    }

    [Fact]
    public void The_four_accuracies_of_the_fixture()
    {
        var (items, responses) = Fixture();
        var report = BenchmarkScorer.Score(new IfEvalBenchmark(), items, responses);
        // 9 of 12 prompts follow everything; 20 of 24 instructions are followed (official verdicts file).
        Assert.Equal(9 / 12.0, report.IfEval!.PromptStrict, 10);
        Assert.Equal(20 / 24.0, report.IfEval.InstructionStrict, 10);
        Assert.Equal(report.IfEval.PromptStrict, report.IfEval.PromptLoose, 10);
        Assert.Equal(report.Accuracy, report.IfEval.PromptStrict, 10);
        Assert.Null(report.MajorityAccuracy);
    }

    private static IfEvalItem Item(string id, string kwargs)
    {
        using var file = BenchmarkFiles.Write("ifeval.jsonl", $$"""{"key": 1, "prompt": "p", "instruction_id_list": ["{{id}}"], "kwargs": [{{kwargs}}]}""");
        return (IfEvalItem)new IfEvalBenchmark().Read(file.Path)[0];
    }

    [Theory]
    [InlineData("detectable_format:title", "{}", "Sure, here you go:\n<<My Title>>", true)] // strict also finds the title anywhere
    [InlineData("startend:quotation", "{}", "Sure, here it is:\n\"All wrapped.\"", false)] // the first line is dropped only loosely
    [InlineData("startend:end_checker", """{"end_phrase": "The end."}""", "Story. The end.\nHope you liked it!", false)]
    [InlineData("punctuation:no_comma", "{}", "Sure, here it is:\nNo commas at all", false)]
    [InlineData("detectable_format:number_highlighted_sections", """{"num_highlights": 1}""", "*one* fine", true)]
    public void Loose_scoring_tries_without_the_first_and_last_line_and_without_stars(string id, string kwargs, string response, bool strict)
    {
        var verdict = new IfEvalBenchmark().Score(Item(id, kwargs), response).Instructions!;
        Assert.Equal(strict, verdict.FollowedStrict[0]);
        Assert.True(verdict.FollowedLoose[0]);
    }

    [Fact]
    public void Loose_scoring_drops_a_first_line_that_breaks_an_instruction()
    {
        // "*Note*" at a line start counts as a bullet strictly, so there are 3, not 2.
        var item = Item("detectable_format:number_bullet_lists", """{"num_bullets": 2}""");
        var verdict = new IfEvalBenchmark().Score(item, "*Note* this\n* one\n* two").Instructions!;
        Assert.False(verdict.FollowedStrict[0]);
        Assert.True(verdict.FollowedLoose[0]); // without its first line there are exactly two bullets
    }

    [Fact]
    public void A_blank_response_follows_nothing_even_where_the_checker_would_accept_it()
    {
        var verdict = new IfEvalBenchmark().Score(Item("punctuation:no_comma", "{}"), "  \n ").Instructions!;
        Assert.False(verdict.FollowedStrict[0]);
        Assert.False(verdict.FollowedLoose[0]);
    }

    [Fact]
    public void Loose_variants_are_the_official_eight()
    {
        Assert.Equal(["a\n*b*\nc", "a\nb\nc", "*b*\nc", "a\n*b*", "*b*", "b\nc", "a\nb", "b"], IfEvalBenchmark.LooseVariants("a\n*b*\nc"));
    }

    [Fact]
    public void Kwargs_that_do_not_match_the_instructions_are_an_error_naming_the_line()
    {
        using var file = BenchmarkFiles.Write("ifeval.jsonl", """{"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma", "startend:quotation"], "kwargs": [{}]}""");
        var error = Assert.Throws<BenchmarkDataException>(() => new IfEvalBenchmark().Read(file.Path));
        Assert.Contains("line 1", error.Message);
        Assert.Contains("kwargs", error.Message);
    }
}
