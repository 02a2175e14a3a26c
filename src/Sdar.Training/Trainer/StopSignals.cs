using System.Runtime.InteropServices;

namespace Sdar.Training;

/// <summary>
/// Turns the first SIGINT (Ctrl-C) or SIGTERM into a stop request for a training run (<see cref="Token"/>, which
/// <see cref="Trainer.Run"/> polls between steps) instead of killing the process; a second signal gets the default
/// action and ends the process at once. <see cref="ExitCode"/> is then the shell's convention for the signal
/// (130 for SIGINT, 143 for SIGTERM).
/// </summary>
public sealed class StopSignals : IDisposable
{
    public const int InterruptExitCode = 130;
    public const int TerminateExitCode = 143;

    private readonly CancellationTokenSource _stop = new();
    private readonly TextWriter _notices;
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    /// <param name="notices">Where the one-line notice about the pending stop goes (standard error).</param>
    public StopSignals(TextWriter notices)
    {
        _notices = notices;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that requested the stop, or null.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>The exit code for the signal received (130 SIGINT, 143 SIGTERM); 130 when none was.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? TerminateExitCode : InterruptExitCode;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) > 1)
        {
            // The second signal: let the runtime's default action end the process now.
            context.Cancel = false;
            return;
        }
        context.Cancel = true;
        Signal = context.Signal;
        string name = context.Signal == PosixSignal.SIGINT ? "Ctrl-C" : context.Signal.ToString();
        _notices.WriteLine($"sdar: {name}: stopping after the current step and saving a checkpoint (press Ctrl-C again to stop at once, without one)");
        _notices.Flush();
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stop.Dispose();
    }
}
