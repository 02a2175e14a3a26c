using System.CommandLine;
using Sdar.Data;
using Sdar.Evaluation;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary>The load that <c>bench engine</c> and <c>bench serve</c> send: how many requests, which prompts.</summary>
internal sealed class BenchLoad
{
    private readonly Option<int?> _requests = new("--requests") { Description = "Requests per concurrency level (default: 2 x the largest concurrency, at least 8).", HelpName = "N" };
    private readonly Option<int> _promptTokens = new("--prompt-tokens") { Description = "--shape: prompt length in tokens.", DefaultValueFactory = _ => 64, HelpName = "N" };

    public BenchLoad()
    {
        _requests.Integer(1, 1_000_000);
        _promptTokens.Integer(1, CliParsing.MaxTokens);
    }

    public void AddTo(Command command)
    {
        command.Add(_requests);
        command.Add(_promptTokens);
    }

    public int Requests(ParseResult parse, IReadOnlyList<int> levels) => parse.GetValue(_requests) ?? Math.Max(8, 2 * levels.Max());

    /// <summary>--shape: random prompts of --prompt-tokens ids (the same ones every run: seed 1).</summary>
    public int[][] RandomPrompts(ParseResult parse, int count, int vocabSize)
    {
        var random = new Random(1);
        int length = parse.GetValue(_promptTokens), ids = Math.Min(vocabSize, 100_000);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(ids)).ToArray())];
    }

    /// <summary>A model folder: the synthetic GSM8K-style test questions as chat prompts.</summary>
    public static int[][] QuestionPrompts(LoadedModel model, int count)
    {
        var (_, _, questions) = SyntheticDataset.Split(new DatasetOptions { Train = 1, Validation = 1, Test = count, Seed = 1234 });
        return [.. questions.Select(q => Sdar.Evaluation.Runs.EngineBackend.PromptIds(model, q.Question, chat: true))];
    }
}
