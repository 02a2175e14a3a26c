namespace Sdar;

/// <summary>A checkpoint folder, weight file, config or tokenizer file is unusable; the message names what and where.</summary>
public sealed class CheckpointException : SdarException
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
    public CheckpointException() { }
}
