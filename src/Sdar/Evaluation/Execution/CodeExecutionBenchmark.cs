namespace Sdar.Evaluation.Execution;

/// <summary>
/// HumanEval / MBPP scored as their official harnesses do: the item's program with the completion in it runs (in a
/// <see cref="PythonSandbox"/>), and the completion is correct when every statement, the checks included, ran.
/// The code is read out of a fenced block or MBPP's <c>[BEGIN]</c>/<c>[DONE]</c> first (<see cref="CodeAnswer"/>).
/// A HumanEval completion that restates the whole function still works: its definition follows the prompt's and wins.
/// </summary>
public sealed class CodeExecutionBenchmark(IBenchmarkData data, PythonSandbox sandbox) : IBenchmark
{
    public string Name => data.Name;

    public IReadOnlyList<BenchmarkItem> Read(string path) => data.Read(path);

    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots) => data.Prompt(item, shots);

    public BenchmarkVerdict Score(BenchmarkItem item, string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        string code = CodeAnswer.Extract(completion);
        string program = item switch
        {
            HumanEvalItem humanEval => humanEval.Program(code),
            MbppItem mbpp => mbpp.Program(code),
            _ => throw new ArgumentException($"{Name}: item {item.Index} is not a code problem", nameof(item)),
        };
        var run = sandbox.RunAsync(program).GetAwaiter().GetResult();
        string outcome = run.Outcome switch
        {
            SandboxOutcome.Passed => "passed",
            SandboxOutcome.Failed => "failed",
            SandboxOutcome.ExitedEarly => "exited_early",
            SandboxOutcome.Crashed => "crashed",
            _ => "timed_out",
        };
        return new BenchmarkVerdict(item.Index, completion, ExtractedAnswer: code == completion ? null : code, VoteKey: null, item.TaskId, run.Passed, Code: new CodeRun(outcome, run.Reason));
    }
}
