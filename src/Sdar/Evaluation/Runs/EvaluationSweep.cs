using System.Globalization;
using System.Text;
using Sdar.Checkpoints;
using Sdar.Decoding;
using Sdar.Runtime;

namespace Sdar.Evaluation.Runs;

/// <summary>One decoding setting of a sweep: a model (its block size, or <see cref="BlockLength"/>), a strategy and its threshold.</summary>
public sealed record SweepPoint(string Model, int BlockLength, string Strategy, double? Threshold)
{
    /// <summary>A file-name-safe name: "sdar-mini_b4_low_confidence_dynamic_t0.9".</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture,
        $"{Path.GetFileName(Model.TrimEnd('/'))}_b{BlockLength}_{Strategy}{(Threshold is { } t ? $"_t{t}" : "")}");
}

/// <summary>One row of a sweep: the setting, its scores and its cost; <see cref="Speedup"/> is over the AR run, when there is one.</summary>
public sealed record SweepRow(SweepPoint Point, EvaluationResult Result, double? Speedup);

/// <summary>
/// A grid of decoding settings evaluated one after the other on the same items and concurrency (optionally with an
/// AR baseline first, for the wall-clock speed-up of every setting), each with its own resumable predictions file,
/// so an interrupted sweep continues where it stopped. The rows are written as CSV and as a Markdown table.
/// </summary>
public static class EvaluationSweep
{
    /// <summary>The points for <paramref name="models"/> × strategies × thresholds; thresholds apply to the dynamic strategies only.</summary>
    public static IReadOnlyList<SweepPoint> Grid(IReadOnlyList<LoadedModel> models, IReadOnlyList<int>? blockLengths, IReadOnlyList<string> strategies,
        IReadOnlyList<double> thresholds, IReadOnlyList<double> ebThresholds)
    {
        ArgumentNullException.ThrowIfNull(models);
        var points = new List<SweepPoint>();
        foreach (var model in models)
        {
            if (!model.Config.IsDiffusion) throw new ArgumentException($"--sweep-models {model.Directory}: an AR model has no block decoding to sweep; give it as --compare-ar");
            foreach (int block in blockLengths is { Count: > 0 } ? blockLengths : [model.Config.BlockSize])
                foreach (string strategy in strategies)
                {
                    IReadOnlyList<double?> values = strategy switch
                    {
                        "low_confidence_dynamic" => [.. thresholds.Select(t => (double?)t)],
                        "entropy_bounded" => [.. ebThresholds.Select(t => (double?)t)],
                        _ => [null],
                    };
                    foreach (double? value in values) points.Add(new SweepPoint(model.Directory, block, strategy, value));
                }
        }
        return points;
    }

    /// <summary>The generation options of <paramref name="point"/>, on top of the sweep's common ones.</summary>
    public static GenerationOptions OptionsOf(SweepPoint point, GenerationOptions common)
    {
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(common);
        var options = common with { BlockLength = point.BlockLength, Strategy = point.Strategy };
        return point.Strategy switch
        {
            "low_confidence_dynamic" => options with { ConfidenceThreshold = point.Threshold!.Value },
            "entropy_bounded" => options with { EbThreshold = point.Threshold!.Value },
            _ => options,
        };
    }

    /// <summary>The speed-up of a run over the AR baseline at the same concurrency (wall clock, or tokens/s for a continued run).</summary>
    public static double? Speedup(EvaluationResult run, EvaluationResult? ar)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (ar is null) return null;
        if (run.Metrics.Resumed == 0 && ar.Metrics.Resumed == 0 && run.Metrics.Elapsed > TimeSpan.Zero) return ar.Metrics.Elapsed / run.Metrics.Elapsed;
        return ar.Metrics.TokensPerSecond > 0 ? run.Metrics.TokensPerSecond / ar.Metrics.TokensPerSecond : null;
    }

    private static readonly string[] Columns =
        ["model", "block_length", "strategy", "threshold", "accuracy", "tokens_per_forward", "nfe_denoise", "generated_tokens", "tokens_per_second", "seconds", "concurrency", "speedup"];

    /// <summary>The rows as CSV (RFC 4180), the AR baseline first when given, replacing <paramref name="path"/> atomically.</summary>
    public static void WriteCsv(string path, IReadOnlyList<SweepRow> rows, EvaluationResult? ar)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder(string.Join(",", Columns)).Append('\n');
        foreach (var cells in Cells(rows, ar, csv: true)) text.Append(string.Join(",", cells.Select(Quote))).Append('\n');
        AtomicFile.WriteText(path, text.ToString());
    }

    /// <summary>The rows as a Markdown table, the AR baseline first when given.</summary>
    public static string Markdown(IReadOnlyList<SweepRow> rows, EvaluationResult? ar)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder("| model | B | strategy | threshold | accuracy | tokens/forward | NFE | tokens/s | seconds | speed-up |\n");
        text.Append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var c in Cells(rows, ar, csv: false))
            text.Append("| ").Append(string.Join(" | ", c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[8], c[9], c[11])).Append(" |\n");
        return text.ToString();
    }

    private static IEnumerable<string[]> Cells(IReadOnlyList<SweepRow> rows, EvaluationResult? ar, bool csv)
    {
        string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        string Accuracy(double a) => csv ? F(a, "0.####") : F(100 * a, "0.0") + " %";
        if (ar is not null)
            yield return
            [
                Path.GetFileName(ar.Backend.TrimEnd('/')), "1", "autoregressive", "", Accuracy(ar.Report.Accuracy), F(ar.Metrics.TokensPerForward ?? 1, "0.00"),
                (ar.Metrics.DenoisingForwards ?? 0).ToString(CultureInfo.InvariantCulture), ar.Metrics.GeneratedTokens.ToString(CultureInfo.InvariantCulture),
                F(ar.Metrics.TokensPerSecond, "0"), F(ar.Metrics.Elapsed.TotalSeconds, "0.0"), ar.Metrics.Concurrency.ToString(CultureInfo.InvariantCulture), csv ? "1" : "1.00x",
            ];
        foreach (var row in rows)
        {
            var m = row.Result.Metrics;
            yield return
            [
                Path.GetFileName(row.Point.Model.TrimEnd('/')), row.Point.BlockLength.ToString(CultureInfo.InvariantCulture), row.Point.Strategy,
                row.Point.Threshold is { } t ? F(t, "0.###") : "", Accuracy(row.Result.Report.Accuracy), m.TokensPerForward is { } tpf ? F(tpf, "0.00") : "",
                (m.DenoisingForwards ?? 0).ToString(CultureInfo.InvariantCulture), m.GeneratedTokens.ToString(CultureInfo.InvariantCulture),
                F(m.TokensPerSecond, "0"), F(m.Elapsed.TotalSeconds, "0.0"), m.Concurrency.ToString(CultureInfo.InvariantCulture),
                row.Speedup is { } s ? (csv ? F(s, "0.###") : F(s, "0.00") + "x") : "",
            ];
        }
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) < 0 ? cell : "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
