using System.Text.Json;
using Sdar.Tests.Evaluation;

namespace Sdar.Tests.Cli;

/// <summary><c>sdar eval --completions</c>: scoring completions produced elsewhere, without a model.</summary>
public class EvalScoringCommandTests
{
    private static string Data(string name) => CliRunner.Fixture("benchmarks", name);

    [Fact]
    public void Ifeval_responses_are_scored_with_the_four_accuracies_and_verdicts_written()
    {
        using var predictions = BenchmarkFiles.Write("verdicts.jsonl");
        var (code, output, error) = CliRunner.Run("eval", "--benchmark", "ifeval", "--data", Data("ifeval-12.jsonl"),
            "--completions", Data("ifeval-12-gpt4-responses.jsonl"), "--predictions", predictions.Path, "--json");
        Assert.True(code == 0, error);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal("ifeval", summary.GetProperty("benchmark").GetString());
        Assert.Equal(12, summary.GetProperty("count").GetInt32());
        Assert.Equal(0.75, summary.GetProperty("prompt_strict").GetDouble());
        Assert.Equal(0.8333, summary.GetProperty("instruction_strict").GetDouble());
        Assert.Equal(0.75, summary.GetProperty("prompt_loose").GetDouble());
        Assert.Equal(0.8333, summary.GetProperty("instruction_loose").GetDouble());
        Assert.Equal(12, File.ReadAllLines(predictions.Path).Length);
    }

    [Fact]
    public void Several_samples_report_pass_at_k_and_majority_vote_in_text()
    {
        var lines = Enumerable.Range(0, 10).SelectMany(i => new[]
        {
            $$"""{"index": {{i}}, "completion": "\\boxed{wrong}"}""",
            $$"""{"index": {{i}}, "completion": "{{JsonEncodedText.Encode(File.ReadLines(Data("math500-10.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("solution").GetString()!).ElementAt(i))}}"}""",
        }).ToArray();
        using var completions = BenchmarkFiles.Write("samples.jsonl", lines);
        var (code, output, error) = CliRunner.Run("eval", "--benchmark", "math", "--data", Data("math500-10.jsonl"),
            "--completions", completions.Path, "--samples", "2", "--pass-at", "1,2");
        Assert.True(code == 0, error);
        // Half the samples are right, so pass@1 is 50 % and pass@2 100 %; the vote ties and goes to the first answer, "wrong".
        Assert.Equal("math: accuracy 50.0 % (10/20), pass@1 50.0 %, pass@2 100.0 %, majority vote 0.0 % over 10 items (20 completions)", output.Trim());
    }

    [Theory]
    [InlineData("humaneval", "humaneval-6.jsonl", "no completion for")]
    [InlineData("gsm8k", "gsm8k-test-12.jsonl", "no completion for")]
    public void Unscorable_requests_fail_with_a_message_naming_the_problem(string benchmark, string data, string expected)
    {
        using var completions = BenchmarkFiles.Write("c.jsonl", """{"index": 0, "completion": "x"}""");
        var (code, _, error) = CliRunner.Run("eval", "--benchmark", benchmark, "--data", Data(data), "--completions", completions.Path);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void HumanEval_samples_are_run_in_the_sandbox_and_scored_with_pass_at_k()
    {
        if (!File.Exists("/usr/bin/bwrap") && !File.Exists("/bin/bwrap")) return;   // the sandbox tests check the refusal there
        var items = File.ReadLines(Data("humaneval-6.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        var lines = items.SelectMany(item => new[]
        {
            $$"""{"task_id": "{{item.GetProperty("task_id").GetString()}}", "completion": {{JsonSerializer.Serialize(item.GetProperty("canonical_solution").GetString())}}}""",
            $$"""{"task_id": "{{item.GetProperty("task_id").GetString()}}", "completion": "    import sys\n    sys.exit(0)\n"}""",
        }).ToArray();
        using var completions = BenchmarkFiles.Write("samples.jsonl", lines);
        using var predictions = BenchmarkFiles.Write("verdicts.jsonl");
        var (code, output, error) = CliRunner.Run("eval", "--benchmark", "humaneval", "--data", Data("humaneval-6.jsonl"),
            "--completions", completions.Path, "--samples", "2", "--pass-at", "1,2", "--predictions", predictions.Path, "--json");
        Assert.True(code == 0, error);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(0.5, summary.GetProperty("accuracy").GetDouble());
        var verdicts = File.ReadLines(predictions.Path).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(12, verdicts.Length);
        Assert.Equal(6, verdicts.Count(v => v.GetProperty("passed").GetBoolean()));
        Assert.Equal(6, verdicts.Count(v => v.GetProperty("outcome").GetString() == "exited_early"));
    }

    [Theory]
    [InlineData("--model", "x", "--model and --completions")]
    [InlineData("--limit", "3", "--limit")]
    [InlineData("--pass-at", "2", "--pass-at needs --samples")]
    public void Flags_that_do_not_go_with_completions_are_refused(string flag, string value, string expected)
    {
        using var completions = BenchmarkFiles.Write("c.jsonl", """{"index": 0, "completion": "x"}""");
        var (code, _, error) = CliRunner.Run("eval", "--data", Data("gsm8k-test-12.jsonl"), "--completions", completions.Path, flag, value);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Without_completions_a_model_or_an_endpoint_is_required()
    {
        var (code, _, error) = CliRunner.Run("eval", "--data", Data("gsm8k-test-12.jsonl"));
        Assert.NotEqual(0, code);
        Assert.Contains("--model: required", error);
        Assert.Contains("--endpoint", error);
    }

    [Fact]
    public void Samples_must_match_the_completions_per_item()
    {
        using var completions = BenchmarkFiles.Write("c.jsonl", Enumerable.Range(0, 12).Select(i => $$"""{"index": {{i}}, "completion": "#### 1"}""").ToArray());
        var (code, _, error) = CliRunner.Run("eval", "--data", Data("gsm8k-test-12.jsonl"), "--completions", completions.Path, "--samples", "2");
        Assert.NotEqual(0, code);
        Assert.Contains("--samples 2 expects 2 completions of every item; item 0 has 1", error);
    }
}
