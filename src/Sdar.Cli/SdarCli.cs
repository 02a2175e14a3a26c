using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using Sdar.Cli.Commands;
using Sdar.Templates;

namespace Sdar.Cli;

/// <summary>
/// The <c>sdar</c> command line: one class per verb, each a thin layer over one library call. Errors a user can act
/// on (bad flags, bad model folders, bad data files) print one line naming what is wrong and exit non-zero.
/// </summary>
public static partial class SdarCli
{
    /// <summary>Something went wrong that is not the input's fault (a bug, a full disk): one line, exit 1.</summary>
    public const int ExitFailure = 1;
    /// <summary>A bad flag, file, field or template: one line naming it, exit 2.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Prints the stack trace of an unexpected error after its one-line message.</summary>
    private static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an unexpected error, print its stack trace after the one-line message.",
        Recursive = true,
    };

    public static Command Build()
    {
        // A plain command named "sdar" rather than RootCommand (which takes the assembly's name, Sdar.Cli),
        // so help and errors read as the command a user types.
        var root = new Command("sdar", "Sdar: SDAR block-diffusion language models in C# (generate, tokenize, inspect, benchmark).")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
            Verbose,
        };
        root.Add(GenerateCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(InfoCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(ExportCommand.Create());
        root.Add(QuantizeCommand.Create());
        root.Add(CompareWeightsCommand.Create());
        root.Add(EvalCommand.Create());
        root.Add(ResultsCommand.Create());
        root.Add(ServeCommand.Create());
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
        bool verbose = args.Contains("--verbose");
        try
        {
            var parse = Build().Parse(args);
            if (parse.Errors.Count > 0)
            {
                // One line per problem, naming the flag, instead of the whole help text.
                foreach (var parseError in parse.Errors) error.WriteLine($"sdar: error: {parseError.Message}");
                error.WriteLine($"Run '{CommandPath(parse.CommandResult)} --help' for usage.");
                return ExitBadInput;
            }
            var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
            return parse.Invoke(configuration);
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"sdar: error: {OneLine(UserMessage(e))}");
            return ExitBadInput;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("sdar: cancelled");
            return ExitFailure;
        }
        catch (Exception e)
        {
            // Never a bare stack trace: the type names the kind of fault, --verbose shows where it happened.
            error.WriteLine($"sdar: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            if (verbose) error.WriteLine(e.ToString());
            else error.WriteLine("Run again with --verbose for the stack trace.");
            return ExitFailure;
        }
    }

    /// <summary>"sdar data generate": the verb with its parents, as typed.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult command; r = r.Parent) names.Insert(0, command.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>
    /// The message without the " (Parameter 'json')" tails .NET adds to argument errors (also inside a wrapped
    /// message): they name a C# parameter, not anything a user typed.
    /// </summary>
    private static string UserMessage(Exception e) => ParameterTail().Replace(e.Message, "");

    [System.Text.RegularExpressions.GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial System.Text.RegularExpressions.Regex ParameterTail();

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static bool IsUserError(Exception e) => e is SdarException or ArgumentException
        or IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidDataException or NotSupportedException;
}
