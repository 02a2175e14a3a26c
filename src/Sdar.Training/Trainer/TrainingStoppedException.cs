namespace Sdar.Training;

/// <summary>
/// A run stopped on request (Ctrl-C, SIGTERM, a cancelled token) after finishing a step: the checkpoint of that step
/// is written (exact resume continues from it), the final model folder is not.
/// </summary>
public sealed class TrainingStoppedException : SdarException
{
    public TrainingStoppedException(int step, int steps, string? checkpoint)
        : base(checkpoint is null
            ? $"stopped before step {step + 1} of {steps}; no step was taken in this session, so there is no new checkpoint"
            : $"stopped after step {step} of {steps}; checkpoint saved to {checkpoint}; run the same command again to resume from it")
    {
        Step = step;
        Checkpoint = checkpoint;
    }

    public TrainingStoppedException() { }
    public TrainingStoppedException(string message) : base(message) { }
    public TrainingStoppedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The last completed step.</summary>
    public int Step { get; }

    /// <summary>The checkpoint folder written at <see cref="Step"/>, or null when the session took no step.</summary>
    public string? Checkpoint { get; }
}

/// <summary>
/// The loss (or the gradient norm) became NaN or infinite: the run stops at that step, before anything is logged or
/// saved, so the last good checkpoint stays the newest.
/// </summary>
public sealed class TrainingDivergedException : SdarException
{
    public TrainingDivergedException(int step, string quantity, double value, double peakLearningRate, double stepLearningRate, string? lastCheckpoint)
        : base(Compose(step, quantity, value, peakLearningRate, stepLearningRate, lastCheckpoint))
    {
        Step = step;
    }

    public TrainingDivergedException() { }
    public TrainingDivergedException(string message) : base(message) { }
    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The step whose loss was not finite (1-based, as in the log).</summary>
    public int Step { get; }

    private static string Compose(int step, string quantity, double value, double peak, double atStep, string? lastCheckpoint)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string kept = lastCheckpoint is null ? "no checkpoint was written before it" : $"the last good checkpoint is {lastCheckpoint}";
        return string.Create(c, $"step {step}: the {quantity} is {Describe(value)} (--lr {peak:G4}, {atStep:G4} at this step); training diverged and stopped without saving this step; {kept}; lower --lr, add --warmup, or keep --clip on");
    }

    private static string Describe(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "+Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
