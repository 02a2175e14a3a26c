namespace Sdar.Evaluation;

/// <summary>
/// One item of a benchmark's data file. <see cref="Index"/> is its 0-based position among the file's records (blank
/// lines skipped), the number a completions file refers to; <see cref="TaskId"/> is the official id where the format
/// has one (HumanEval "HumanEval/0", MBPP 11, IFEval's prompt), so that official sample files can be matched too.
/// </summary>
public abstract record BenchmarkItem(int Index)
{
    /// <summary>The official id a sample file names this item by, or null when the format has none.</summary>
    public virtual string? TaskId => null;

    /// <summary>What the reference answer is, as written in verdicts (null where there is none to show).</summary>
    public virtual string? Reference => null;
}

/// <summary>
/// The verdict on one completion. <see cref="ExtractedAnswer"/> is what the scorer read from the completion (null when
/// it found none); <see cref="VoteKey"/> is that answer normalised, the value majority voting counts.
/// IFEval verdicts carry the per-instruction results in <see cref="Instructions"/>; <see cref="Correct"/> is then the
/// strict prompt-level verdict.
/// </summary>
public sealed record BenchmarkVerdict(
    int Index,
    string Prediction,
    string? ExtractedAnswer,
    string? VoteKey,
    string? Reference,
    bool Correct,
    InstructionVerdict? Instructions = null,
    CodeRun? Code = null);

/// <summary>How a HumanEval / MBPP program ran in the sandbox: its outcome and, when it did not pass, why.</summary>
public sealed record CodeRun(string Outcome, string Reason);

/// <summary>IFEval's verdict on one response: every instruction checked strictly and loosely (evaluation_lib.py).</summary>
public sealed record InstructionVerdict(IReadOnlyList<string> InstructionIds, IReadOnlyList<bool> FollowedStrict, IReadOnlyList<bool> FollowedLoose)
{
    public bool FollowAllStrict => FollowedStrict.All(f => f);
    public bool FollowAllLoose => FollowedLoose.All(f => f);
}

/// <summary>
/// A benchmark's data side: reads its items from the official file format and builds the prompt a model is given.
/// HumanEval and MBPP are scored by running programs (<see cref="Execution.CodeExecutionBenchmark"/>).
/// </summary>
public interface IBenchmarkData
{
    /// <summary>The name used on the command line (<c>gsm8k</c>, <c>math</c>, ...).</summary>
    string Name { get; }

    /// <summary>Reads every item of <paramref name="path"/>; a bad record is an error naming the file and line.</summary>
    IReadOnlyList<BenchmarkItem> Read(string path);

    /// <summary>The prompt for <paramref name="item"/>, after the worked examples <paramref name="shots"/> (may be empty).</summary>
    string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots);
}

/// <summary>A benchmark that can score a completion by itself: extracts the answer and compares it with the reference.</summary>
public interface IBenchmark : IBenchmarkData
{
    BenchmarkVerdict Score(BenchmarkItem item, string completion);
}
