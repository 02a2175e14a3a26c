using ScottPlot;
using SkiaSharp;

namespace Sdar.Training.Plotting;

/// <summary>
/// Renders the train and held-out loss against the step as a PNG with ScottPlot: the raw train loss in a light
/// colour with its moving average over it, the held-out evaluations as joined markers, axis labels and a legend.
/// Text uses the bundled DejaVu Sans (<see cref="BundledFont"/>), so the plot is the same with or without system
/// fonts.
/// </summary>
public static class LossPlot
{
    internal static readonly Color TrainRaw = Color.FromHex("#AAC8EB");
    internal static readonly Color TrainSmooth = Color.FromHex("#1F64B4");
    internal static readonly Color Eval = Color.FromHex("#E66E14");

    public static byte[] Render(IReadOnlyList<(double Step, double Loss)> train, IReadOnlyList<(double Step, double Loss)> eval,
        int width = 720, int height = 420)
    {
        BundledFont.Register();
        var plot = new Plot();
        plot.Font.Set(BundledFont.Name);
        var points = train.Where(p => double.IsFinite(p.Loss)).ToList();
        var held = eval.Where(p => double.IsFinite(p.Loss)).ToList();
        if (points.Count > 0)
        {
            var raw = plot.Add.ScatterLine(points.Select(p => p.Step).ToArray(), points.Select(p => p.Loss).ToArray(), TrainRaw);
            raw.LineWidth = 1;
            var smooth = MovingAverage(points, Math.Max(1, points.Count / 50));
            var average = plot.Add.ScatterLine(smooth.Select(p => p.Step).ToArray(), smooth.Select(p => p.Loss).ToArray(), TrainSmooth);
            average.LineWidth = 2;
            average.LegendText = "train";
        }
        if (held.Count > 0)
        {
            var evaluations = plot.Add.Scatter(held.Select(p => p.Step).ToArray(), held.Select(p => p.Loss).ToArray(), Eval);
            evaluations.LineWidth = 2;
            evaluations.MarkerSize = 7;
            evaluations.LegendText = "held-out";
        }
        plot.XLabel("step");
        plot.YLabel("loss");
        if (points.Count + held.Count > 0) plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static List<(double Step, double Loss)> MovingAverage(List<(double Step, double Loss)> points, int window)
    {
        var result = new List<(double, double)>(points.Count);
        double sum = 0;
        for (int i = 0; i < points.Count; i++)
        {
            sum += points[i].Loss;
            if (i >= window) sum -= points[i - window].Loss;
            result.Add((points[i].Step, sum / Math.Min(i + 1, window)));
        }
        return result;
    }
}

/// <summary>
/// DejaVu Sans, embedded in this assembly and handed to ScottPlot as a font resolver: SkiaSharp's
/// NoDependencies native build reads no system fonts (no fontconfig), so without it a clean Debian machine would
/// draw plots with no text at all.
/// </summary>
internal sealed class BundledFont : IFontResolver
{
    public const string Name = "DejaVu Sans";
    private static readonly Lazy<BundledFont> Instance = new(() =>
    {
        var font = new BundledFont();
        Fonts.FontResolvers.Insert(0, font);
        return font;
    });

    private readonly byte[] _bytes;

    private BundledFont()
    {
        using var stream = typeof(BundledFont).Assembly.GetManifestResourceStream("Sdar.Training.Plotting.DejaVuSans.ttf")
            ?? throw new InvalidOperationException("the bundled font resource Sdar.Training.Plotting.DejaVuSans.ttf is missing");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        _bytes = copy.ToArray();
    }

    /// <summary>Puts the font first among ScottPlot's resolvers (once per process).</summary>
    public static void Register() => _ = Instance.Value;

    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
        fontName == Name ? SKTypeface.FromData(SKData.CreateCopy(_bytes)) : null;

    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        fontName == Name ? SKTypeface.FromData(SKData.CreateCopy(_bytes)) : null;
}
