namespace Sdar.Training;

/// <summary>A training option with a bad value. <see cref="Option"/> is the CLI flag without dashes ("block-length").</summary>
public sealed class OptionException : ArgumentException
{
    public OptionException(string option, string problem) : base($"--{option} {problem}")
    {
        Option = option;
    }

    public OptionException() { }
    public OptionException(string message) : base(message) { }
    public OptionException(string message, Exception inner) : base(message, inner) { }

    public string Option { get; } = "";

    public static void Require(bool condition, string option, string problem)
    {
        if (!condition) throw new OptionException(option, problem);
    }
}
