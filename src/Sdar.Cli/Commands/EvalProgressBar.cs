using System.Globalization;
using Sdar.Evaluation.Runs;

namespace Sdar.Cli.Commands;

/// <summary>
/// The progress of <c>sdar eval</c> on stderr: a bar redrawn in place on a terminal, whole lines now and then in a
/// log file or pipe. It shows completions done, tokens per second of this run and the time left at that pace.
/// </summary>
internal sealed class EvalProgressBar
{
    private const int Width = 28;
    private readonly TextWriter _writer;
    private readonly Sdar.Training.ProgressLines? _lines;
    private bool _drawn;

    public EvalProgressBar(TextWriter writer, bool redirected)
    {
        _writer = writer;
        _lines = redirected ? new Sdar.Training.ProgressLines(writer) : null;
    }

    public void Report(EvaluationProgress progress)
    {
        if (_lines is not null)
        {
            _lines.Report(progress.Done, progress.Total, () => "evaluated " + Status(progress));
            return;
        }
        int filled = progress.Total == 0 ? Width : (int)((long)Width * progress.Done / progress.Total);
        _writer.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {Status(progress)}   ");
        _drawn = true;
    }

    /// <summary>Ends the bar's line, so that what is printed next starts on its own.</summary>
    public void Finish()
    {
        if (_drawn) _writer.WriteLine();
        _drawn = false;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:D2}s");

    private static string Status(EvaluationProgress p)
    {
        string status = string.Create(CultureInfo.InvariantCulture, $"{p.Done}/{p.Total} completions");
        double seconds = p.Elapsed.TotalSeconds;
        if (seconds <= 0 || p.Tokens == 0) return status;
        status += string.Create(CultureInfo.InvariantCulture, $", {p.Tokens / seconds:F0} tokens/s");
        if (p.Remaining is { } left) status += $", {Clock(left)} left";
        return status;
    }
}
