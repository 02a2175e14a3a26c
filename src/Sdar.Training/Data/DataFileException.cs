namespace Sdar.Training.Data;

/// <summary>A training data file that cannot be used; the message names the file, the line and what was wrong.</summary>
public sealed class DataFileException : SdarException
{
    public DataFileException(string path, int line, string problem)
        : base(line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}")
    {
        FilePath = path;
        Line = line;
        Problem = problem;
    }

    public DataFileException() { }
    public DataFileException(string message) : base(message) { }
    public DataFileException(string message, Exception inner) : base(message, inner) { }

    public string FilePath { get; } = "";
    /// <summary>1-based line number; 0 when the problem is the whole file.</summary>
    public int Line { get; }
    public string Problem { get; } = "";
}
