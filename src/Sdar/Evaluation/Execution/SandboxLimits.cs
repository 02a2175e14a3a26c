namespace Sdar.Evaluation.Execution;

/// <summary>What one sandboxed program may use. The defaults suit HumanEval / MBPP checks, which run in well under a second.</summary>
public sealed record SandboxLimits
{
    /// <summary>Wall-clock time from start to end; past it the whole sandbox is killed (a program that sleeps or waits).</summary>
    public TimeSpan WallTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>CPU seconds (RLIMIT_CPU): a busy loop is killed by SIGXCPU even when the machine is slow to schedule it.</summary>
    public int CpuSeconds { get; init; } = 5;

    /// <summary>Address space (RLIMIT_AS): an allocation past it raises MemoryError.</summary>
    public long MemoryBytes { get; init; } = 1L << 30;

    /// <summary>Processes and threads the sandbox may hold at once (RLIMIT_NPROC, counted inside its own user namespace).</summary>
    public int MaxProcesses { get; init; } = 16;

    /// <summary>Largest file the program may write (RLIMIT_FSIZE) and the size of its private /tmp.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;

    /// <summary>Most stdout and stderr kept, each (the rest is read and dropped, so a chatty program cannot block).</summary>
    public int MaxOutputChars { get; init; } = 64 << 10;

    internal void Validate()
    {
        if (WallTime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(WallTime), WallTime, "the wall-time limit must be positive");
        ArgumentOutOfRangeException.ThrowIfLessThan(CpuSeconds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryBytes, 64L << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProcesses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFileBytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputChars, 1024);
    }
}
