using System.Globalization;
using Sdar.Checkpoints;
using Sdar.Evaluation;
using Sdar.Evaluation.Execution;
using Sdar.Evaluation.Runs;
using Sdar.Runtime;
using Sdar.Training.Plotting;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar eval --sweep DIR</c>: every setting of models × block lengths × strategies × thresholds on the same items
/// and concurrency, after an AR baseline when <c>--compare-ar</c> is given; writes <c>sweep.csv</c>, <c>sweep.md</c>,
/// <c>accuracy-vs-tpf.png</c> and <c>speedup.png</c>, with each setting's predictions (resumable) under
/// <c>DIR/predictions/</c>.
/// </summary>
internal static class EvalSweep
{
    public sealed record Grid(IReadOnlyList<string> Models, IReadOnlyList<int> BlockLengths, IReadOnlyList<string> Strategies,
        IReadOnlyList<double> Thresholds, IReadOnlyList<double> EbThresholds);

    /// <summary>A finished sweep: its rows, the AR baseline's run, and the Markdown table.</summary>
    public sealed record Outcome(IReadOnlyList<SweepRow> Rows, EvaluationResult? Ar, string Table);

    public static int Run(EvalRun.Request request, Grid grid, string outDir, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        using var outLock = Sdar.IO.OutputPaths.ClaimFolder(outDir, "--sweep");
        var plan = Plan(request);
        var models = new List<LoadedModel>();
        try
        {
            foreach (string dir in grid.Models) models.Add(LoadedModel.Open(dir, kernels: request.Kernels));
            using var arModel = request.CompareAr is null ? null : LoadedModel.Open(request.CompareAr, kernels: request.Kernels);
            var outcome = Sweep(request, plan, models, arModel, grid, outDir, error, cancellation);
            output.Write(outcome.Table);
            return 0;
        }
        finally
        {
            foreach (var model in models) model.Dispose();
        }
    }

    /// <summary>The benchmark's items (and worked examples) a request names, read and checked.</summary>
    public static EvaluationPlan Plan(EvalRun.Request request)
    {
        var plan = EvalRun.Plan(request);
        CliParsing.Require(plan.Items.Count > 0, $"--data {request.Data}: no items to evaluate");
        return plan;
    }

    /// <summary>Runs the grid (after the AR baseline when given) and writes the CSV, Markdown and plots into <paramref name="outDir"/>.</summary>
    public static Outcome Sweep(EvalRun.Request request, EvaluationPlan plan, IReadOnlyList<LoadedModel> models, LoadedModel? arModel, Grid grid, string outDir,
        TextWriter error, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.Combine(outDir, "predictions"));
        CliParsing.Require(arModel is null || !arModel.Config.IsDiffusion, $"--compare-ar {arModel?.Directory}: expected an autoregressive model");
        var points = GenerationFlags.InFlagTerms(() => EvaluationSweep.Grid(models, grid.BlockLengths, grid.Strategies, grid.Thresholds, grid.EbThresholds));
        foreach (var point in points)
            GenerationFlags.Validate(EvaluationSweep.OptionsOf(point, request.Options), models.First(m => m.Directory == point.Model).Config);
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: {points.Count} settings{(arModel is null ? "" : " and the AR baseline")} on {plan.Items.Count} items of {request.Benchmark}, concurrency {request.Concurrency}"));

        EvaluationResult? ar = null;
        if (arModel is not null)
        {
            error.WriteLine($"AR baseline {arModel.Directory}");
            ar = Evaluate(request with { Model = arModel.Directory }, plan, new EngineBackend(arModel, request.Options, request.Concurrency, request.Chat, request.EngineOptions),
                Path.Combine(outDir, "predictions", "ar.jsonl"), error, cancellation);
        }
        var rows = new List<SweepRow>();
        foreach (var point in points)
        {
            var options = EvaluationSweep.OptionsOf(point, request.Options);
            var model = models.First(m => m.Directory == point.Model);
            error.WriteLine($"{point.Name}");
            var result = Evaluate(request with { Model = model.Directory, Options = options }, plan,
                new EngineBackend(model, options, request.Concurrency, request.Chat, request.EngineOptions), Path.Combine(outDir, "predictions", point.Name + ".jsonl"), error, cancellation);
            rows.Add(new SweepRow(point, result, EvaluationSweep.Speedup(result, ar)));
        }
        EvaluationSweep.WriteCsv(Path.Combine(outDir, "sweep.csv"), rows, ar);
        string table = EvaluationSweep.Markdown(rows, ar);
        AtomicFile.WriteText(Path.Combine(outDir, "sweep.md"), table);
        AtomicFile.Write(Path.Combine(outDir, "accuracy-vs-tpf.png"), s => s.Write(SweepPlots.AccuracyVsTokensPerForward(rows, ar)));
        if (ar is not null) AtomicFile.Write(Path.Combine(outDir, "speedup.png"), s => s.Write(SweepPlots.Speedups(rows)));
        error.WriteLine($"wrote {Path.Combine(outDir, "sweep.csv")}, sweep.md, accuracy-vs-tpf.png{(ar is null ? "" : ", speedup.png")}");
        return new Outcome(rows, ar, table);
    }

    internal static EvaluationResult Evaluate(EvalRun.Request request, EvaluationPlan plan, ICompletionBackend backend, string predictions, TextWriter error, CancellationToken cancellation)
    {
        using var log = PredictionsLog.Open(predictions, EvalRun.Settings(request, backend), plan.Items.Count, plan.Samples, request.Restart);
        EvalRun.SayContinuing(log, predictions, plan.Items.Count * plan.Samples, error);
        // A setting continued from its file is not timed again from a cold start; a fresh one decodes one item untimed first.
        if (log.Done.Count == 0) EvalRun.Warm(plan, backend, cancellation);
        return EvalRun.Evaluate(plan, backend, log, error, cancellation);
    }
}
