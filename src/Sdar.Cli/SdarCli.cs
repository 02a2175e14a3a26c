using System.CommandLine;
using System.Text.Json;
using Sdar.Cli.Commands;
using Sdar.Templates;

namespace Sdar.Cli;

/// <summary>
/// The <c>sdar</c> command line: one class per verb, each a thin layer over one library call. Errors a user can act
/// on (bad flags, bad model folders, bad data files) print one line naming what is wrong and exit non-zero.
/// </summary>
public static class SdarCli
{
    public const int ExitUsage = 1;
    public const int ExitFailure = 2;

    public static Command Build()
    {
        // A plain command named "sdar" rather than RootCommand (which takes the assembly's name, Sdar.Cli),
        // so help and errors read as the command a user types.
        var root = new Command("sdar", "Sdar: SDAR block-diffusion language models in C# (generate, tokenize, inspect, benchmark).")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Add(GenerateCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(InfoCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(EvalCommand.Create());
        root.Add(TrainingCommands.Train());
        root.Add(TrainingCommands.Convert());
        root.Add(TrainingCommands.Sft());
        root.Add(DataCommand.Create());
        root.Add(new Command("tokenizer", "Tokenizers: train a byte-level BPE on a corpus.") { DataCommand.TrainTokenizer("train") });
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per problem, naming the flag, instead of the whole help text.
            foreach (var parseError in parse.Errors) error.WriteLine($"sdar: error: {parseError.Message}");
            string verb = parse.CommandResult.Command.Name;
            error.WriteLine($"Run 'sdar {(verb == "sdar" ? "" : verb + " ")}--help' for usage.");
            return ExitUsage;
        }
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(configuration);
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"sdar: error: {e.Message}");
            return ExitFailure;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("sdar: cancelled");
            return ExitFailure;
        }
    }

    private static bool IsUserError(Exception e) => e is CheckpointException or TemplateException or ArgumentException
        or IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidDataException or NotSupportedException
        or Sdar.Training.Data.DataFileException;
}
