namespace Sdar.Evaluation.Execution;

/// <summary>How a sandboxed program ended.</summary>
public enum SandboxOutcome
{
    /// <summary>Every statement ran (the checks included) and the harness wrote its marker.</summary>
    Passed,
    /// <summary>An exception ended it (a failed assert, a SyntaxError, a MemoryError, ...).</summary>
    Failed,
    /// <summary>It called sys.exit / raised SystemExit before the end: the checks after that point never ran.</summary>
    ExitedEarly,
    /// <summary>It ended without the harness's marker: os._exit, a signal (the CPU limit's SIGXCPU), a killed parent.</summary>
    Crashed,
    /// <summary>The wall-time limit ran out and the sandbox was killed.</summary>
    TimedOut,
}

/// <summary>The end of one sandboxed run.</summary>
/// <param name="Reason">Why it did not pass, in one line (the exception, the exit code, the limit); empty when it passed.</param>
public sealed record SandboxResult(SandboxOutcome Outcome, string Reason, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public bool Passed => Outcome == SandboxOutcome.Passed;
}
