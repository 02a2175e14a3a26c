namespace Sdar.Evaluation;

/// <summary>
/// A benchmark data or completions file is unusable: the message names the file, the line or item, the field and
/// what was expected.
/// </summary>
public sealed class BenchmarkDataException : SdarException
{
    public BenchmarkDataException(string message) : base(message) { }
    public BenchmarkDataException(string message, Exception inner) : base(message, inner) { }
    public BenchmarkDataException() { }
}
