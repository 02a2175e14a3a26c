namespace Sdar.Training;

/// <summary>
/// A training option with a bad value. <see cref="Option"/> is the CLI flag without dashes ("block-length") when the
/// option has one (<see cref="TrainingFlag"/>), else the library setting ("TrainerOptions.Beta1"), so a message
/// never names a flag that does not exist.
/// </summary>
public sealed class OptionException : ArgumentException
{
    public OptionException(TrainingFlag flag, string problem) : base($"--{flag.Name} {problem}")
    {
        Option = flag.Name;
    }

    private OptionException(string setting, string problem, bool _) : base($"{setting} {problem}")
    {
        Option = setting;
    }

    public OptionException() { }
    public OptionException(string message) : base(message) { }
    public OptionException(string message, Exception inner) : base(message, inner) { }

    public string Option { get; } = "";

    public static void Require(bool condition, TrainingFlag flag, string problem)
    {
        if (!condition) throw new OptionException(flag, problem);
    }

    /// <summary>For a setting only the library API exposes (no CLI flag): the message names the property.</summary>
    public static void RequireSetting(bool condition, string setting, string problem)
    {
        if (!condition) throw new OptionException(setting, problem, false);
    }
}
