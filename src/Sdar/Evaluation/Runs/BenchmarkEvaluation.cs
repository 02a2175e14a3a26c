using System.Diagnostics;
using Sdar.Decoding;

namespace Sdar.Evaluation.Runs;

/// <summary>What to evaluate: the items, the worked examples every prompt starts with, and the samples per item.</summary>
public sealed record EvaluationPlan(IBenchmark Benchmark, IReadOnlyList<BenchmarkItem> Items, IReadOnlyList<BenchmarkItem> Shots, int Samples = 1,
    IReadOnlyList<int>? PassAtK = null);

/// <summary>
/// Where a run stands: completions done of all (<see cref="Resumed"/> of them read back from the predictions file),
/// and the tokens and time of this run.
/// </summary>
public readonly record struct EvaluationProgress(int Done, int Total, int Resumed, long Tokens, TimeSpan Elapsed)
{
    /// <summary>The time left at this run's pace so far, or null before the first completion.</summary>
    public TimeSpan? Remaining => Done > Resumed ? Elapsed * ((double)(Total - Done) / (Done - Resumed)) : null;
}

/// <summary>
/// The cost of a run (DESIGN section 4): NFE summed over completions (denoising forwards, and all forwards with
/// the prompt's), tokens per forward (generated tokens / denoising forwards), and tokens per second at
/// <see cref="Concurrency"/> completions in flight. NFE is null when the backend cannot count forwards (a remote
/// server). Throughput counts only what this run generated: <see cref="Resumed"/> completions came from the file.
/// </summary>
public sealed record EvaluationMetrics(int Concurrency, int Completions, int Resumed, long GeneratedTokens, long? DenoisingForwards, long? TotalForwards,
    long TokensThisRun, TimeSpan Elapsed)
{
    public double? TokensPerForward => DenoisingForwards is > 0 and { } denoise ? (double)GeneratedTokens / denoise : null;

    public double TokensPerSecond => Elapsed > TimeSpan.Zero ? TokensThisRun / Elapsed.TotalSeconds : 0;
}

/// <summary>An evaluation's scores and cost.</summary>
public sealed record EvaluationResult(string Backend, BenchmarkReport Report, EvaluationMetrics Metrics);

/// <summary>
/// Runs a benchmark on a completion backend: every item's prompt (after the worked examples) is generated
/// <see cref="EvaluationPlan.Samples"/> times, each completion is scored as it finishes and, with a
/// <see cref="PredictionsLog"/>, written at once, so an interrupted run continues where it stopped.
/// </summary>
public static class BenchmarkEvaluation
{
    public static EvaluationResult Run(EvaluationPlan plan, ICompletionBackend backend, PredictionsLog? log = null,
        Action<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(backend);
        if (plan.Samples < 1) throw new ArgumentOutOfRangeException(nameof(plan), "samples per item must be at least 1");
        var items = plan.Items;
        var verdicts = items.Select(_ => new BenchmarkVerdict[plan.Samples]).ToArray();
        var cost = new (int Tokens, NfeCount? Nfe)[items.Count, plan.Samples];
        int resumed = 0;
        if (log is not null)
            foreach (var logged in log.Done.Values)
            {
                // Scored again rather than trusted: the verdict is the scorer's of today, the text is what was generated.
                verdicts[logged.Item][logged.Sample] = plan.Benchmark.Score(items[logged.Item], logged.Text);
                cost[logged.Item, logged.Sample] = (logged.GeneratedTokens, logged.Nfe);
                resumed++;
            }
        var jobs = new List<CompletionJob>();
        for (int i = 0; i < items.Count; i++)
        {
            string prompt = plan.Benchmark.Prompt(items[i], plan.Shots);
            for (int s = 0; s < plan.Samples; s++)
                if (verdicts[i][s] is null)
                    jobs.Add(new CompletionJob(i, s, prompt, (long)i * plan.Samples + s));
        }
        int total = items.Count * plan.Samples, done = resumed;
        long tokensThisRun = 0;
        var clock = Stopwatch.StartNew();
        progress?.Invoke(new EvaluationProgress(done, total, resumed, 0, TimeSpan.Zero));
        if (jobs.Count > 0)
            backend.Run(jobs, outcome =>
            {
                var job = outcome.Job;
                var verdict = plan.Benchmark.Score(items[job.Item], outcome.Text);
                log?.Append(verdict, job.Sample, outcome.GeneratedTokens, outcome.Nfe);
                verdicts[job.Item][job.Sample] = verdict;
                cost[job.Item, job.Sample] = (outcome.GeneratedTokens, outcome.Nfe);
                tokensThisRun += outcome.GeneratedTokens;
                progress?.Invoke(new EvaluationProgress(++done, total, resumed, tokensThisRun, clock.Elapsed));
            }, cancellationToken);
        clock.Stop();
        var report = BenchmarkScorer.Summarise(plan.Benchmark.Name, verdicts, plan.PassAtK);
        log?.Complete(report);
        long generated = 0, denoise = 0, forwards = 0;
        bool nfeKnown = true;
        foreach (var (tokens, nfe) in cost)
        {
            generated += tokens;
            if (nfe is { } n)
            {
                denoise += n.Denoise;
                forwards += n.Total;
            }
            else nfeKnown = false;
        }
        var metrics = new EvaluationMetrics(backend.Concurrency, total, resumed, generated, nfeKnown ? denoise : null, nfeKnown ? forwards : null,
            tokensThisRun, clock.Elapsed);
        return new EvaluationResult(backend.Description, report, metrics);
    }
}
