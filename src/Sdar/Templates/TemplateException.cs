namespace Sdar.Templates;

/// <summary>
/// A chat template could not be parsed or rendered. <see cref="Line"/> is the 1-based template line the problem
/// was found on (0 when it is not tied to a line); the message starts with it and says what was expected.
/// </summary>
public sealed class TemplateException : SdarException
{
    public TemplateException(string message, int line) : base(line > 0 ? $"line {line}: {message}" : message)
    {
        Line = line;
    }

    public TemplateException(string message) : base(message) { }
    public TemplateException(string message, Exception inner) : base(message, inner) { }
    public TemplateException() { }

    public int Line { get; }
}
