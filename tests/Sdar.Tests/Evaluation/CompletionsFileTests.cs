using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class CompletionsFileTests
{
    private static IReadOnlyList<BenchmarkItem> GsmItems() => new Gsm8kBenchmark().Read(BenchmarkFiles.Fixture("gsm8k-test-12.jsonl")).Take(2).ToList();

    [Fact]
    public void Lines_name_their_item_by_index_and_carry_completion_or_response()
    {
        using var file = BenchmarkFiles.Write("c.jsonl", """{"index": 1, "completion": "#### 9"}""", "", """{"index": 0, "response": "#### 4"}""");
        var completions = CompletionsFile.Read(file.Path, GsmItems());
        Assert.Equal(["#### 4"], completions[0]);
        Assert.Equal(["#### 9"], completions[1]);
    }

    [Theory]
    [InlineData("""{"index": 2, "completion": "x"}""", "outside")]
    [InlineData("""{"index": 0}""", "\"completion\"")]
    [InlineData("""{"completion": "x"}""", "\"index\"")]
    [InlineData("""{"index": "zero", "completion": "x"}""", "whole number")]
    [InlineData("""not json""", "not valid JSON")]
    public void A_bad_line_is_an_error_naming_the_file_and_line(string line, string expected)
    {
        using var file = BenchmarkFiles.Write("c.jsonl", """{"index": 0, "completion": "x"}""", line);
        var error = Assert.ThrowsAny<Exception>(() => CompletionsFile.Read(file.Path, GsmItems()));
        Assert.Contains($"{file.Path} line 2", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_second_completion_for_an_item_is_an_error_unless_samples_are_asked_for()
    {
        using var file = BenchmarkFiles.Write("c.jsonl", """{"index": 0, "completion": "a"}""", """{"index": 1, "completion": "b"}""", """{"index": 0, "completion": "c"}""");
        var error = Assert.Throws<BenchmarkDataException>(() => CompletionsFile.Read(file.Path, GsmItems()));
        Assert.Contains("line 3", error.Message);
        Assert.Contains("line 1", error.Message);
        Assert.Equal(["a", "c"], CompletionsFile.Read(file.Path, GsmItems(), severalPerItem: true)[0]);
    }

    [Fact]
    public void An_item_without_a_completion_is_an_error_saying_how_many_and_which()
    {
        using var file = BenchmarkFiles.Write("c.jsonl", """{"index": 1, "completion": "a"}""");
        var error = Assert.Throws<BenchmarkDataException>(() => CompletionsFile.Read(file.Path, GsmItems()));
        Assert.Contains("1 of the 2", error.Message);
        Assert.Contains("item 0", error.Message);
    }

    [Fact]
    public void Official_sample_files_match_by_task_id_and_unknown_ids_are_named()
    {
        var humaneval = new HumanEvalBenchmark().Read(BenchmarkFiles.Fixture("humaneval-6.jsonl"));
        var lines = humaneval.Cast<HumanEvalItem>().Select(i => $$"""{"task_id": "{{i.Id}}", "completion": "    pass\n"}""").Reverse().ToArray();
        using var file = BenchmarkFiles.Write("samples.jsonl", lines);
        var completions = CompletionsFile.Read(file.Path, humaneval);
        Assert.All(completions, c => Assert.Equal(["    pass\n"], c));
        using var unknown = BenchmarkFiles.Write("samples.jsonl", """{"task_id": "HumanEval/999", "completion": "x"}""");
        var error = Assert.Throws<BenchmarkDataException>(() => CompletionsFile.Read(unknown.Path, humaneval));
        Assert.Contains("HumanEval/999", error.Message);
        Assert.Contains("line 1", error.Message);

        var mbpp = new MbppBenchmark().Read(BenchmarkFiles.Fixture("mbpp-test-10.jsonl"));
        using var numeric = BenchmarkFiles.Write("mbpp.jsonl", [.. mbpp.Cast<MbppItem>().Select(i => $$"""{"task_id": {{i.Id}}, "completion": "c{{i.Id}}"}""")]);
        Assert.Equal(["c477"], CompletionsFile.Read(numeric.Path, mbpp)[0]);
    }

    [Fact]
    public void Scoring_several_samples_gives_pass_at_k_and_majority_vote()
    {
        var items = GsmItems(); // final answers 4 and then the second item's
        string second = ((GsmItem)items[1]).FinalAnswer;
        using var file = BenchmarkFiles.Write("c.jsonl",
            """{"index": 0, "completion": "#### 4"}""", """{"index": 0, "completion": "#### 5"}""", """{"index": 0, "completion": "#### 4"}""",
            """{"index": 1, "completion": "#### 1"}""", $$"""{"index": 1, "completion": "#### {{second}}"}""", """{"index": 1, "completion": "#### 1"}""");
        var report = BenchmarkScorer.Score(new Gsm8kBenchmark(), items, CompletionsFile.Read(file.Path, items, severalPerItem: true), [1, 2]);
        Assert.Equal(2, report.Count);
        Assert.Equal(6, report.Samples);
        Assert.Equal((2 / 3.0 + 1 / 3.0) / 2, report.Accuracy, 12);
        Assert.Equal(1, report.PassAtK[0].K);
        Assert.Equal(report.Accuracy, report.PassAtK[0].PassAtK, 12);
        Assert.Equal((1.0 + 2 / 3.0) / 2, report.PassAtK[1].PassAtK, 12); // item 1: 1 - C(2,2)/C(3,2)
        Assert.Equal(0.5, report.MajorityAccuracy); // item 0 votes 4 (right), item 1 votes 1 (wrong)
        var tooMany = Assert.Throws<BenchmarkDataException>(() => BenchmarkScorer.Score(new Gsm8kBenchmark(), items, CompletionsFile.Read(file.Path, items, severalPerItem: true), [4]));
        Assert.Contains("pass@4", tooMany.Message);
    }

    [Fact]
    public void Verdicts_are_written_one_line_per_completion()
    {
        var items = GsmItems();
        var report = BenchmarkScorer.Score(new Gsm8kBenchmark(), items, [["#### 4"], ["no idea"]]);
        using var output = BenchmarkFiles.Write("out.jsonl");
        BenchmarkScorer.WriteVerdicts(output.Path, report);
        var lines = File.ReadAllLines(output.Path);
        Assert.Equal("""{"index":0,"prediction":"#### 4","extracted_answer":"4","reference":"4","correct":true}""", lines[0]);
        Assert.Equal($$"""{"index":1,"prediction":"no idea","extracted_answer":null,"reference":"{{((GsmItem)items[1]).FinalAnswer}}","correct":false}""", lines[1]);
    }

    [Fact]
    public void Ifeval_verdict_lines_carry_both_instruction_lists()
    {
        var items = new Sdar.Evaluation.IfEval.IfEvalBenchmark().Read(BenchmarkFiles.Fixture("ifeval-12.jsonl"));
        var responses = CompletionsFile.Read(BenchmarkFiles.Fixture("ifeval-12-gpt4-responses.jsonl"), items);
        var report = BenchmarkScorer.Score(new Sdar.Evaluation.IfEval.IfEvalBenchmark(), items, responses);
        using var output = BenchmarkFiles.Write("out.jsonl");
        BenchmarkScorer.WriteVerdicts(output.Path, report);
        string line = File.ReadLines(output.Path).ElementAt(3); // key 3327: the "fake" frequency is not met
        Assert.Contains("\"instruction_id_list\":[\"keywords:existence\",\"keywords:frequency\",\"keywords:frequency\"]", line);
        Assert.Contains("\"strict\":{\"follow_all_instructions\":false,\"follow_instruction_list\":[true,false,true]}", line);
        Assert.Contains("\"loose\":{\"follow_all_instructions\":false,\"follow_instruction_list\":[true,false,true]}", line);
    }
}
