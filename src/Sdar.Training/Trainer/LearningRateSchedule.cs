namespace Sdar.Training;

public enum ScheduleKind
{
    /// <summary>Linear warm-up, then cosine decay to the minimum.</summary>
    Cosine,
    /// <summary>Linear warm-up, then constant (SDAR's SFT setting, DESIGN section 3).</summary>
    Constant,
}

/// <summary>The learning rate of each optimiser step: linear warm-up over <see cref="WarmupSteps"/>, then cosine or constant.</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, ScheduleKind Kind, double MinRatio = 0.1)
{
    /// <summary>The rate for step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        if (Kind == ScheduleKind.Constant) return Peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps - 1), 0, 1);
        double min = Peak * MinRatio;
        return min + (Peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
