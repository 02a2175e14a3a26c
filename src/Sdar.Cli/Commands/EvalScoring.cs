using System.Globalization;
using System.Text.Json;
using Sdar.Evaluation;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar eval --completions</c>: scores completions produced elsewhere against a benchmark's data file.</summary>
internal static class EvalScoring
{
    public sealed record Request(string Benchmark, string Data, string Completions, string? Predictions, bool Json, int Samples, int[] PassAtK, ulong ChoiceSeed);

    public static int Run(Request request, TextWriter output, JsonSerializerOptions jsonOptions)
    {
        var data = Benchmarks.Get(request.Benchmark, request.ChoiceSeed);
        // HumanEval and MBPP completions are scored by running them, each in its own sandbox.
        var benchmark = data as IBenchmark ?? new Sdar.Evaluation.Execution.CodeExecutionBenchmark(data, new Sdar.Evaluation.Execution.PythonSandbox());
        // Checked and locked before any scoring, so an unwritable path fails at once.
        using var predictionsLock = request.Predictions is null ? null : Sdar.IO.OutputPaths.ClaimFile(request.Predictions, "--predictions");
        var items = benchmark.Read(request.Data);
        var completions = CompletionsFile.Read(request.Completions, items, severalPerItem: request.Samples > 1);
        int uneven = request.Samples > 1 ? completions.ToList().FindIndex(c => c.Count != request.Samples) : -1;
        if (uneven >= 0)
            throw new BenchmarkDataException($"--completions {request.Completions}: --samples {request.Samples} expects {request.Samples} completions of every item; item {uneven} has {completions[uneven].Count}");
        var report = BenchmarkScorer.Score(benchmark, items, completions, request.PassAtK);
        if (request.Predictions is not null) BenchmarkScorer.WriteVerdicts(request.Predictions, report);
        output.WriteLine(request.Json ? JsonSerializer.Serialize(Summary(report, request), jsonOptions) : Text(report));
        return 0;
    }

    private static Dictionary<string, object?> Summary(BenchmarkReport report, Request request)
    {
        var summary = new Dictionary<string, object?>
        {
            ["benchmark"] = report.Benchmark, ["data"] = Path.GetFullPath(request.Data), ["completions"] = Path.GetFullPath(request.Completions),
        };
        AddScores(summary, report);
        return summary;
    }

    /// <summary>The scores of a report as summary fields: count, samples, correct, accuracy, IFEval's four, pass@k, majority vote.</summary>
    internal static void AddScores(Dictionary<string, object?> summary, BenchmarkReport report)
    {
        summary["count"] = report.Count;
        summary["samples"] = report.Samples;
        summary["correct"] = report.Correct;
        summary["accuracy"] = Math.Round(report.Accuracy, 4);
        if (report.IfEval is { } ifeval)
        {
            summary["prompt_strict"] = Math.Round(ifeval.PromptStrict, 4);
            summary["instruction_strict"] = Math.Round(ifeval.InstructionStrict, 4);
            summary["prompt_loose"] = Math.Round(ifeval.PromptLoose, 4);
            summary["instruction_loose"] = Math.Round(ifeval.InstructionLoose, 4);
        }
        if (report.PassAtK.Count > 0) summary["pass_at_k"] = report.PassAtK.ToDictionary(p => p.K.ToString(CultureInfo.InvariantCulture), p => Math.Round(p.PassAtK, 4));
        if (report.MajorityAccuracy is { } majority && report.Samples > report.Count) summary["majority_accuracy"] = Math.Round(majority, 4);
    }

    private static string Text(BenchmarkReport report) =>
        $"{report.Benchmark}: {string.Join(", ", ScoreParts(report))} over {report.Count} items" + (report.Samples > report.Count ? $" ({report.Samples} completions)" : "");

    /// <summary>The scores of a report in words: accuracy (IFEval's four), pass@k, majority vote.</summary>
    internal static List<string> ScoreParts(BenchmarkReport report)
    {
        var parts = new List<string>();
        if (report.IfEval is { } i)
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"prompt strict {i.PromptStrict:P1}, instruction strict {i.InstructionStrict:P1}, prompt loose {i.PromptLoose:P1}, instruction loose {i.InstructionLoose:P1}"));
        else
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"accuracy {report.Accuracy:P1} ({report.Correct}/{report.Samples})"));
        parts.AddRange(report.PassAtK.Select(p => string.Create(CultureInfo.InvariantCulture, $"pass@{p.K} {p.PassAtK:P1}")));
        if (report.MajorityAccuracy is { } majority && report.Samples > report.Count)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"majority vote {majority:P1}"));
        return parts;
    }
}
