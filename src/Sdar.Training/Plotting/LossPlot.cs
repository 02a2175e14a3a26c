using System.Globalization;

namespace Sdar.Training.Plotting;

/// <summary>
/// Renders train and eval loss curves as a PNG line plot: linear axes with labelled ticks, the raw train loss in a
/// light colour with its moving average over it, eval points joined in another colour, and a legend.
/// </summary>
public static class LossPlot
{
    private static readonly (byte, byte, byte) Background = (255, 255, 255);
    private static readonly (byte, byte, byte) Axis = (40, 40, 40);
    private static readonly (byte, byte, byte) Grid = (225, 225, 225);
    private static readonly (byte, byte, byte) TrainRaw = (170, 200, 235);
    private static readonly (byte, byte, byte) TrainSmooth = (31, 100, 180);
    private static readonly (byte, byte, byte) Eval = (230, 110, 20);

    private const int Left = 64, Right = 20, Top = 24, Bottom = 44, Scale = 2;

    public static byte[] Render(IReadOnlyList<(double Step, double Loss)> train, IReadOnlyList<(double Step, double Loss)> eval,
        int width = 720, int height = 420)
    {
        var image = new PngImage(width, height, Background);
        var all = train.Concat(eval).Where(p => double.IsFinite(p.Loss)).ToList();
        double xMax = all.Count == 0 ? 1 : Math.Max(1, all.Max(p => p.Step));
        double yMin = all.Count == 0 ? 0 : all.Min(p => p.Loss), yMax = all.Count == 0 ? 1 : all.Max(p => p.Loss);
        if (yMax - yMin < 1e-9) { yMin -= 0.5; yMax += 0.5; }
        double pad = (yMax - yMin) * 0.05;
        (yMin, yMax) = (Math.Max(0, yMin - pad), yMax + pad);

        int plotW = width - Left - Right, plotH = height - Top - Bottom;
        int X(double step) => Left + (int)Math.Round(step / xMax * plotW);
        int Y(double loss) => Top + plotH - (int)Math.Round((loss - yMin) / (yMax - yMin) * plotH);

        foreach (double tick in Ticks(0, xMax))
        {
            image.Line(X(tick), Top, X(tick), Top + plotH, Grid);
            string label = FormatTick(tick);
            PixelFont.Draw(image, label, X(tick) - PixelFont.Width(label, Scale) / 2, Top + plotH + 8, Axis, Scale);
        }
        foreach (double tick in Ticks(yMin, yMax))
        {
            image.Line(Left, Y(tick), Left + plotW, Y(tick), Grid);
            string label = FormatTick(tick);
            PixelFont.Draw(image, label, Left - 6 - PixelFont.Width(label, Scale), Y(tick) - 5, Axis, Scale);
        }
        image.Line(Left, Top, Left, Top + plotH, Axis);
        image.Line(Left, Top + plotH, Left + plotW, Top + plotH, Axis);
        PixelFont.Draw(image, "step", Left + plotW / 2 - PixelFont.Width("step", Scale) / 2, height - 16, Axis, Scale);
        PixelFont.Draw(image, "loss", 6, 6, Axis, Scale);

        var points = train.Where(p => double.IsFinite(p.Loss)).ToList();
        Polyline(image, points.Select(p => (X(p.Step), Y(p.Loss))).ToList(), TrainRaw, 1);
        Polyline(image, MovingAverage(points, Math.Max(1, points.Count / 50)).Select(p => (X(p.Step), Y(p.Loss))).ToList(), TrainSmooth, 2);
        var evalPoints = eval.Where(p => double.IsFinite(p.Loss)).Select(p => (X(p.Step), Y(p.Loss))).ToList();
        Polyline(image, evalPoints, Eval, 2);
        foreach (var (x, y) in evalPoints)
            for (int dx = -3; dx <= 3; dx++)
                for (int dy = -3; dy <= 3; dy++)
                    if (dx * dx + dy * dy <= 9) image.Set(x + dx, y + dy, Eval);

        int legendX = Left + plotW - 110, legendY = Top + 8;
        image.Line(legendX, legendY + 5, legendX + 24, legendY + 5, TrainSmooth, 2);
        PixelFont.Draw(image, "train", legendX + 32, legendY, Axis, Scale);
        image.Line(legendX, legendY + 23, legendX + 24, legendY + 23, Eval, 2);
        PixelFont.Draw(image, "eval", legendX + 32, legendY + 18, Axis, Scale);
        return image.Encode();
    }

    private static void Polyline(PngImage image, List<(int X, int Y)> points, (byte, byte, byte) color, int thickness)
    {
        for (int i = 1; i < points.Count; i++)
            image.Line(points[i - 1].X, points[i - 1].Y, points[i].X, points[i].Y, color, thickness);
        if (points.Count == 1) image.Line(points[0].X, points[0].Y, points[0].X, points[0].Y, color, thickness + 2);
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

    /// <summary>About five round tick values (1, 2 or 5 times a power of ten apart) covering [min, max].</summary>
    private static readonly double[] NiceSteps = [1.0, 2.0, 5.0, 10.0];

    internal static IEnumerable<double> Ticks(double min, double max)
    {
        double raw = (max - min) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = NiceSteps.Select(m => m * magnitude).First(s => s >= raw);
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step) yield return Math.Round(t / step) * step;
    }

    private static string FormatTick(double value)
    {
        if (Math.Abs(value) >= 10000) return (value / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k";
        return value.ToString(Math.Abs(value - Math.Round(value)) < 1e-9 ? "0" : "0.###", CultureInfo.InvariantCulture);
    }
}

/// <summary>A 3x5 pixel font with the characters the plot writes (digits, '.', '-', ':', and a few letters).</summary>
internal static class PixelFont
{
    private static readonly Dictionary<char, byte[]> Glyphs = new()
    {
        ['0'] = [7, 5, 5, 5, 7], ['1'] = [2, 6, 2, 2, 7], ['2'] = [7, 1, 7, 4, 7], ['3'] = [7, 1, 7, 1, 7],
        ['4'] = [5, 5, 7, 1, 1], ['5'] = [7, 4, 7, 1, 7], ['6'] = [7, 4, 7, 5, 7], ['7'] = [7, 1, 1, 1, 1],
        ['8'] = [7, 5, 7, 5, 7], ['9'] = [7, 5, 7, 1, 7], ['.'] = [0, 0, 0, 0, 2], ['-'] = [0, 0, 7, 0, 0],
        [':'] = [0, 2, 0, 2, 0], [' '] = [0, 0, 0, 0, 0], ['a'] = [0, 3, 5, 5, 3], ['e'] = [0, 7, 7, 4, 7],
        ['i'] = [2, 0, 2, 2, 2], ['k'] = [4, 5, 6, 5, 5], ['l'] = [6, 2, 2, 2, 7], ['n'] = [0, 6, 5, 5, 5],
        ['o'] = [0, 2, 5, 5, 2], ['p'] = [0, 6, 5, 6, 4], ['r'] = [0, 5, 6, 4, 4], ['s'] = [0, 3, 6, 1, 6],
        ['t'] = [2, 7, 2, 2, 3], ['v'] = [0, 5, 5, 5, 2],
    };

    public static int Width(string text, int scale) => text.Length * 4 * scale - scale;

    public static void Draw(PngImage image, string text, int x, int y, (byte, byte, byte) color, int scale)
    {
        foreach (char c in text)
        {
            if (Glyphs.TryGetValue(c, out var rows))
                for (int r = 0; r < 5; r++)
                    for (int b = 0; b < 3; b++)
                        if ((rows[r] & (4 >> b)) != 0)
                            for (int sx = 0; sx < scale; sx++)
                                for (int sy = 0; sy < scale; sy++)
                                    image.Set(x + b * scale + sx, y + r * scale + sy, color);
            x += 4 * scale;
        }
    }
}
