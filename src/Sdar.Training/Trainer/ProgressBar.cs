using System.Globalization;

namespace Sdar.Training;

/// <summary>
/// One line on stderr, redrawn in place: step, a bar, loss, the last eval loss, tokens/s and the ETA. When stderr is
/// not a terminal it prints a plain line every few percent instead of carriage returns.
/// </summary>
public sealed class ProgressBar
{
    private const int BarWidth = 24;
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private int _lastLength;
    private int _lastPercent = -1;

    public ProgressBar(TextWriter writer, bool interactive)
    {
        _writer = writer;
        _interactive = interactive;
    }

    public static ProgressBar ForStandardError() => new(Console.Error, !Console.IsErrorRedirected);

    public void Update(int step, int total, double loss, double? evalLoss, double tokensPerSecond, TimeSpan eta)
    {
        string line = Format(step, total, loss, evalLoss, tokensPerSecond, eta);
        if (_interactive)
        {
            _writer.Write("\r" + line.PadRight(_lastLength));
            _lastLength = line.Length;
        }
        else
        {
            int percent = (int)(100L * step / total);
            if (percent / 5 == _lastPercent / 5 && step != total) return;
            _lastPercent = percent;
            _writer.WriteLine(line);
        }
        _writer.Flush();
    }

    public void Finish()
    {
        if (_interactive && _lastLength > 0) _writer.WriteLine();
        _lastLength = 0;
    }

    public static string Format(int step, int total, double loss, double? evalLoss, double tokensPerSecond, TimeSpan eta)
    {
        int filled = (int)((long)BarWidth * step / Math.Max(1, total));
        string bar = new string('=', filled) + (filled < BarWidth ? ">" + new string(' ', BarWidth - filled - 1) : "");
        var c = CultureInfo.InvariantCulture;
        string eval = evalLoss is { } e ? string.Create(c, $" eval {e:0.000}") : "";
        return string.Create(c, $"step {step}/{total} [{bar}] loss {loss:0.000}{eval} | {Rate(tokensPerSecond)} tok/s | ETA {Duration(eta)}");
    }

    private static string Rate(double perSecond) =>
        perSecond >= 1000 ? (perSecond / 1000).ToString("0.0", CultureInfo.InvariantCulture) + "k" : perSecond.ToString("0", CultureInfo.InvariantCulture);

    internal static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}
