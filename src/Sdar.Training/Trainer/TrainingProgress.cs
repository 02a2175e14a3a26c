using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Sdar.Training;

/// <summary>Where a run stands after a step, as the progress display shows it.</summary>
public sealed record ProgressSnapshot(int Step, int Steps, double Loss, double? EvalLoss, double TokensPerSecond, TimeSpan Eta)
{
    /// <summary><c>step 120/700  loss 2.314  eval 2.100  1,850 tok/s  eta 3m12s</c></summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        string eval = EvalLoss is { } e ? string.Create(c, $"  eval {e:0.000}") : "";
        return string.Create(c, $"step {Step}/{Steps}  loss {Loss:0.000}{eval}  {TokensPerSecond:N0} tok/s  eta {Duration(Eta)}");
    }

    internal static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
}

/// <summary>Shows a run's progress; disposing ends the display.</summary>
public interface ITrainingProgress : IDisposable
{
    void Update(ProgressSnapshot snapshot);
}

/// <summary>The progress display for standard error: a live bar on a terminal, plain periodic lines when redirected.</summary>
public static class TrainingProgress
{
    public static ITrainingProgress ForStandardError(int startStep, int steps) =>
        Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive
            ? new ProgressLines(Console.Error)
            : new LiveProgressBar(Console.Error, startStep, steps);
}

/// <summary>
/// For logs and pipes: one whole line per update that is due (the first step, then at most one line per
/// <c>interval</c>, and the last step), never carriage returns, so a log file reads line by line.
/// </summary>
public sealed class ProgressLines : ITrainingProgress
{
    private readonly TextWriter _writer;
    private readonly TimeSpan _interval;
    private readonly Func<TimeSpan> _clock;
    private TimeSpan? _lastLine;

    /// <param name="interval">Least time between two lines (default 10 s); the first and the last step always print.</param>
    /// <param name="clock">Elapsed time (tests pass their own).</param>
    public ProgressLines(TextWriter writer, TimeSpan? interval = null, Func<TimeSpan>? clock = null)
    {
        _writer = writer;
        _interval = interval ?? TimeSpan.FromSeconds(10);
        var stopwatch = Stopwatch.StartNew();
        _clock = clock ?? (() => stopwatch.Elapsed);
    }

    public void Update(ProgressSnapshot snapshot) => Report(snapshot.Step, snapshot.Steps, snapshot.Format);

    /// <summary>Writes <paramref name="line"/> if a line is due at <paramref name="done"/> of <paramref name="total"/>.</summary>
    public void Report(int done, int total, Func<string> line)
    {
        var now = _clock();
        bool due = _lastLine is not { } last || now - last >= _interval || done >= total;
        if (!due) return;
        _lastLine = now;
        _writer.WriteLine(line());
        _writer.Flush();
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// For a terminal: a Spectre.Console live progress bar on standard error, redrawn in place. Spectre renders from
/// its own thread inside <c>Progress.Start</c>, so the display runs there until <see cref="Dispose"/>.
/// </summary>
public sealed class LiveProgressBar : ITrainingProgress
{
    private readonly ManualResetEventSlim _ready = new();
    private readonly ManualResetEventSlim _finished = new();
    private readonly Thread _display;
    private ProgressTask? _task;

    public LiveProgressBar(TextWriter writer, int startStep, int steps)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        var progress = console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left });
        _display = new Thread(() =>
        {
            try
            {
                progress.Start(context =>
                {
                    _task = context.AddTask($"step {startStep}/{steps}", maxValue: steps);
                    _task.Value = startStep;
                    _ready.Set();
                    _finished.Wait();
                    context.Refresh();
                });
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or NotSupportedException)
            {
                // A terminal the display cannot drive must not end the run; updates then go nowhere.
            }
            finally
            {
                _ready.Set();
            }
        }) { IsBackground = true, Name = "training progress" };
        _display.Start();
        _ready.Wait();
    }

    public void Update(ProgressSnapshot snapshot)
    {
        if (_task is null) return;
        _task.Value = snapshot.Step;
        _task.Description = Markup.Escape(snapshot.Format());
    }

    public void Dispose()
    {
        _finished.Set();
        _display.Join();
        _ready.Dispose();
        _finished.Dispose();
    }
}
