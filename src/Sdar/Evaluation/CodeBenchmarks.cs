using System.Globalization;
using System.Text;

namespace Sdar.Evaluation;

/// <summary>A HumanEval problem (openai/human-eval HumanEval.jsonl).</summary>
public sealed record HumanEvalItem(int Index, string Id, string PromptText, string CanonicalSolution, string Test, string EntryPoint) : BenchmarkItem(Index)
{
    public override string? TaskId => Id;

    /// <summary>The program human_eval/execution.py runs: prompt + completion + test + <c>check(entry_point)</c>.</summary>
    public string Program(string completion) => PromptText + completion + "\n" + Test + "\n" + $"check({EntryPoint})";
}

/// <summary>An MBPP problem (google-research mbpp/mbpp.jsonl): the task text, its asserts and the reference code.</summary>
public sealed record MbppItem(int Index, int Id, string Text, string Code, string TestSetupCode, IReadOnlyList<string> Tests, IReadOnlyList<string> ChallengeTests)
    : BenchmarkItem(Index)
{
    public override string? TaskId => Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>What is run: the completion, the setup code, then every assert.</summary>
    public string Program(string completion) => completion + "\n" + TestSetupCode + "\n" + string.Join("\n", Tests) + "\n";
}

/// <summary>HumanEval: the prompt is the function signature and docstring, which the completion continues.</summary>
public sealed class HumanEvalBenchmark : IBenchmarkData
{
    public string Name => "humaneval";

    public IReadOnlyList<BenchmarkItem> Read(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
        new HumanEvalItem(index, JsonFields.RequiredString(root, "task_id", where), JsonFields.RequiredString(root, "prompt", where),
            JsonFields.OptionalString(root, "canonical_solution", where) ?? "", JsonFields.RequiredString(root, "test", where),
            JsonFields.RequiredString(root, "entry_point", where)));

    /// <summary>The official prompt as it is; worked examples would break the "complete this function" format, so none.</summary>
    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots) =>
        shots.Count == 0 ? ((HumanEvalItem)item).PromptText : throw new ArgumentException("HumanEval prompts take no worked examples", nameof(shots));
}

/// <summary>MBPP: the prompt of the MBPP paper ("You are an expert Python programmer, and here is your task: ...").</summary>
public sealed class MbppBenchmark : IBenchmarkData
{
    public string Name => "mbpp";

    public IReadOnlyList<BenchmarkItem> Read(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
    {
        var id = JsonFields.Required(root, "task_id", where);
        return new MbppItem(index, JsonFields.Integer(id, "task_id", where), JsonFields.RequiredString(root, "text", where),
            JsonFields.OptionalString(root, "code", where) ?? "", JsonFields.OptionalString(root, "test_setup_code", where) ?? "",
            JsonFields.StringArray(JsonFields.Required(root, "test_list", where), "test_list", where),
            JsonFields.Has(root, "challenge_test_list") ? JsonFields.StringArray(root.GetProperty("challenge_test_list"), "challenge_test_list", where) : []);
    });

    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots)
    {
        var prompt = new StringBuilder();
        foreach (MbppItem shot in shots) Task(prompt, shot).Append("[BEGIN]\n").Append(shot.Code.Replace("\r\n", "\n", StringComparison.Ordinal)).Append("\n[DONE]\n");
        return Task(prompt, (MbppItem)item).ToString();
    }

    private static StringBuilder Task(StringBuilder prompt, MbppItem item) =>
        prompt.Append("You are an expert Python programmer, and here is your task: ").Append(item.Text)
            .Append(" Your code should pass these tests:\n\n").Append(string.Join("\n", item.Tests)).Append('\n');
}
