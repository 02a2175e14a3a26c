using Sdar.Evaluation.IfEval;

namespace Sdar.Evaluation;

/// <summary>The benchmarks by their command-line names.</summary>
public static class Benchmarks
{
    public static IReadOnlyList<string> Names { get; } = ["gsm8k", "synthetic", "math", "mmlu", "gpqa", "ifeval", "humaneval", "mbpp"];

    /// <summary>The benchmark called <paramref name="name"/>; <paramref name="seed"/> orders GPQA's choices.</summary>
    public static IBenchmarkData Get(string name, ulong seed = 0) => name switch
    {
        "gsm8k" => new Gsm8kBenchmark(),
        "synthetic" => new SyntheticBenchmark(),
        "math" or "math500" => new MathBenchmark(),
        "mmlu" => new MmluBenchmark(),
        "gpqa" => new GpqaBenchmark(seed),
        "ifeval" => new IfEvalBenchmark(),
        "humaneval" => new HumanEvalBenchmark(),
        "mbpp" => new MbppBenchmark(),
        _ => throw new BenchmarkDataException($"unknown benchmark \"{name}\" (expected one of {string.Join(", ", Names)})"),
    };
}
