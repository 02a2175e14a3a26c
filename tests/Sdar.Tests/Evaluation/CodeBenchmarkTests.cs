using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class CodeBenchmarkTests
{
    [Fact]
    public void Humaneval_items_read_and_build_the_official_program()
    {
        var items = new HumanEvalBenchmark().Read(BenchmarkFiles.Fixture("humaneval-6.jsonl")).Cast<HumanEvalItem>().ToList();
        Assert.Equal(6, items.Count);
        var first = items[0];
        Assert.Equal("HumanEval/30", first.TaskId);
        Assert.Equal("get_positive", first.EntryPoint);
        Assert.Equal(first.PromptText, new HumanEvalBenchmark().Prompt(first, []));
        string program = first.Program(first.CanonicalSolution);
        Assert.StartsWith(first.PromptText + first.CanonicalSolution + "\n" + first.Test, program);
        Assert.EndsWith("\ncheck(get_positive)", program);
    }

    [Fact]
    public void Mbpp_items_read_and_build_the_paper_prompt()
    {
        var items = new MbppBenchmark().Read(BenchmarkFiles.Fixture("mbpp-test-10.jsonl")).Cast<MbppItem>().ToList();
        Assert.Equal(10, items.Count);
        Assert.Equal(477, items[0].Id);
        Assert.Equal(3, items[0].Tests.Count);
        Assert.Equal("You are an expert Python programmer, and here is your task: Write a python function to convert the given string to lower case. " +
            "Your code should pass these tests:\n\nassert is_lower(\"InValid\") == \"invalid\"\nassert is_lower(\"TruE\") == \"true\"\nassert is_lower(\"SenTenCE\") == \"sentence\"\n",
            new MbppBenchmark().Prompt(items[0], []));
        string withShot = new MbppBenchmark().Prompt(items[1], [items[0]]);
        Assert.Contains("[BEGIN]\ndef is_lower(string):\n  return (string.lower())\n[DONE]\n", withShot);
        Assert.EndsWith(new MbppBenchmark().Prompt(items[1], []), withShot);
    }

    [Fact]
    public void Every_benchmark_name_resolves_and_an_unknown_one_lists_them()
    {
        Assert.All(Benchmarks.Names, n => Assert.Equal(n, Benchmarks.Get(n).Name));
        var error = Assert.Throws<BenchmarkDataException>(() => Benchmarks.Get("hellaswag"));
        Assert.Contains("gsm8k", error.Message);
    }
}
