using Sdar.IO;

namespace Sdar.Training.Recipes;

/// <summary>
/// The two folders a training run writes, checked and locked before any data is read: <c>--out</c> (the model
/// folder, written atomically at the end) and <c>--run-dir</c> (checkpoints, log, plot). A second run on the same
/// folders fails at once instead of interleaving its log records and checkpoints with the first one's.
/// </summary>
public sealed class TrainingOutputs : IDisposable
{
    private readonly OutputLock _output;
    private readonly OutputLock _run;

    private TrainingOutputs(OutputLock output, OutputLock run)
    {
        _output = output;
        _run = run;
    }

    public static TrainingOutputs Claim(string outputDirectory, string runDirectory)
    {
        string output = Path.GetFullPath(outputDirectory).TrimEnd(Path.DirectorySeparatorChar);
        string run = Path.GetFullPath(runDirectory).TrimEnd(Path.DirectorySeparatorChar);
        OptionException.Require(run != output && !run.StartsWith(output + Path.DirectorySeparatorChar, StringComparison.Ordinal),
            TrainingFlag.RunDir, $"({run}) must not be --out ({output}) or inside it: --out is replaced as a whole at the end of the run");
        var outputLock = OutputPaths.ClaimFolder(output, "--out");
        try
        {
            return new TrainingOutputs(outputLock, OutputPaths.ClaimFolder(run, "--run-dir"));
        }
        catch
        {
            outputLock.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _output.Dispose();
    }
}
