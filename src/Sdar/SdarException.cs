namespace Sdar;

/// <summary>
/// The project's own error: an input a user can act on (a file, field, flag or template) is unusable, or a run
/// hit a limit or a numerical fault. The message names what and where and what was expected, in one line, so that
/// the command line and the server can print it as it is. Anything else escaping the library is a bug.
/// </summary>
public abstract class SdarException : Exception
{
    protected SdarException(string message) : base(message) { }
    protected SdarException(string message, Exception inner) : base(message, inner) { }
    protected SdarException() { }
}
