namespace Sdar.IO;

/// <summary>
/// An output path a run cannot use: its parent cannot be created or written, it is a file where a folder is needed
/// (or the reverse), or another run is writing it. Raised before the work starts; the message names the flag and
/// the path.
/// </summary>
public sealed class OutputPathException : SdarException
{
    public OutputPathException(string message) : base(message) { }
    public OutputPathException(string message, Exception inner) : base(message, inner) { }
    public OutputPathException() { }
}
