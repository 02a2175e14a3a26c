namespace Sdar.Tests.Evaluation;

internal static class BenchmarkFiles
{
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "benchmarks", name);

    /// <summary>A file with these lines in a fresh temporary folder (deleted with the returned scope).</summary>
    public static TempFile Write(string name, params string[] lines)
    {
        string dir = Path.Combine(Path.GetTempPath(), "sdar-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return new TempFile(path);
    }
}

internal sealed class TempFile(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
}
