using ScottPlot;
using Sdar.Evaluation.Runs;

namespace Sdar.Training.Plotting;

/// <summary>
/// The plots of an evaluation sweep (ScottPlot, bundled font): accuracy against tokens per forward with one line per
/// model and block size (the paper's trade-off curve; the AR baseline as a marker at one token per forward), and the
/// wall-clock speed-up of every setting over AR decoding as bars.
/// </summary>
public static class SweepPlots
{
    private static readonly Color[] Palette =
        [Color.FromHex("#1F64B4"), Color.FromHex("#E66E14"), Color.FromHex("#2CA02C"), Color.FromHex("#D62728"), Color.FromHex("#9467BD"), Color.FromHex("#8C564B")];

    public static byte[] AccuracyVsTokensPerForward(IReadOnlyList<SweepRow> rows, EvaluationResult? ar, int width = 760, int height = 460)
    {
        ArgumentNullException.ThrowIfNull(rows);
        BundledFont.Register();
        var plot = new Plot();
        plot.Font.Set(BundledFont.Name);
        int colour = 0;
        foreach (var line in rows.Where(r => r.Result.Metrics.TokensPerForward is not null)
                     .GroupBy(r => (Model: Path.GetFileName(r.Point.Model.TrimEnd('/')), r.Point.BlockLength)).OrderBy(g => g.Key.BlockLength))
        {
            var points = line.OrderBy(r => r.Result.Metrics.TokensPerForward).ToArray();
            var scatter = plot.Add.Scatter(points.Select(r => r.Result.Metrics.TokensPerForward!.Value).ToArray(),
                points.Select(r => 100 * r.Result.Report.Accuracy).ToArray(), Palette[colour++ % Palette.Length]);
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            scatter.LegendText = $"{line.Key.Model}, B = {line.Key.BlockLength}";
        }
        if (ar is not null)
        {
            var baseline = plot.Add.Scatter(new[] { 1.0 }, new[] { 100 * ar.Report.Accuracy }, Colors.Black);
            baseline.MarkerSize = 10;
            baseline.MarkerShape = MarkerShape.FilledDiamond;
            baseline.LegendText = $"AR ({Path.GetFileName(ar.Backend.TrimEnd('/'))})";
        }
        plot.XLabel("tokens per forward");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    public static byte[] Speedups(IReadOnlyList<SweepRow> rows, int width = 760, int height = 460)
    {
        ArgumentNullException.ThrowIfNull(rows);
        BundledFont.Register();
        var plot = new Plot();
        plot.Font.Set(BundledFont.Name);
        var withSpeedup = rows.Where(r => r.Speedup is not null).ToArray();
        var ticks = new List<Tick>();
        for (int i = 0; i < withSpeedup.Length; i++)
        {
            var row = withSpeedup[i];
            var bar = plot.Add.Bar(position: i, value: row.Speedup!.Value);
            bar.Color = Palette[Array.IndexOf([.. withSpeedup.Select(r => r.Point.BlockLength).Distinct()], row.Point.BlockLength) % Palette.Length];
            string label = $"B{row.Point.BlockLength} " + row.Point.Strategy switch
            {
                "low_confidence_static" => "static",
                "low_confidence_dynamic" => "dyn",
                "entropy_bounded" => "eb",
                _ => row.Point.Strategy,
            } + (row.Point.Threshold is { } t ? $" {t:0.##}" : "");
            ticks.Add(new Tick(i, label));
        }
        var one = plot.Add.HorizontalLine(1);
        one.LinePattern = LinePattern.Dashed;
        one.Color = Colors.Gray;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("wall-clock speed-up over AR (x)");
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
