using System.Text;

namespace Sdar.Evaluation;

/// <summary>A MATH problem with its reference answer (MATH-500's "answer", or the last \boxed{} of MATH's "solution").</summary>
public sealed record MathItem(int Index, string Problem, string? Solution, string Answer) : BenchmarkItem(Index)
{
    public override string? Reference => Answer;
}

/// <summary>
/// MATH and MATH-500: the completion's last <c>\boxed{}</c> against the reference answer under the official
/// equivalence (<see cref="MathAnswer.IsEquivalent"/>). A completion without a box is wrong.
/// </summary>
public sealed class MathBenchmark : IBenchmark
{
    public const string Instruction = "Please reason step by step, and put your final answer within \\boxed{}.";

    public string Name => "math";

    public IReadOnlyList<BenchmarkItem> Read(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
    {
        string problem = JsonFields.RequiredString(root, "problem", where);
        string? solution = JsonFields.OptionalString(root, "solution", where), answer = JsonFields.OptionalString(root, "answer", where);
        if (answer is null)
        {
            if (solution is null) throw new BenchmarkDataException($"{where}: expected a string field \"answer\" or a \"solution\" with a \\boxed{{}} answer");
            answer = MathAnswer.LastBoxed(solution) ?? throw new BenchmarkDataException($"{where}: field \"solution\" has no complete \\boxed{{...}} answer (and there is no \"answer\")");
        }
        return new MathItem(index, problem, solution, answer);
    });

    /// <summary>Zero-shot: the problem and the \boxed{} instruction. With shots: "Problem: / Solution:" pairs first.</summary>
    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots)
    {
        var math = (MathItem)item;
        if (shots.Count == 0) return math.Problem + "\n" + Instruction;
        var prompt = new StringBuilder();
        foreach (MathItem shot in shots)
            prompt.Append("Problem:\n").Append(shot.Problem).Append("\n\nSolution:\n")
                .Append(shot.Solution ?? $"The answer is $\\boxed{{{shot.Answer}}}$.").Append("\n\n");
        return prompt.Append("Problem:\n").Append(math.Problem).Append("\n\nSolution:").ToString();
    }

    public BenchmarkVerdict Score(BenchmarkItem item, string completion)
    {
        var math = (MathItem)item;
        string? boxed = MathAnswer.LastBoxed(completion);
        string? key = boxed is null ? null : MathAnswer.Normalise(boxed) ?? boxed;
        return new BenchmarkVerdict(item.Index, completion, boxed, key, math.Answer, boxed is not null && MathAnswer.IsEquivalent(boxed, math.Answer));
    }
}
