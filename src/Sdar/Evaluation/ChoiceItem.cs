namespace Sdar.Evaluation;

/// <summary>A multiple-choice question: the choices in the order shown, and which of them is right (0 = A).</summary>
public sealed record ChoiceItem(int Index, string Question, IReadOnlyList<string> Choices, int AnswerIndex, string? Subject = null, string? Id = null)
    : BenchmarkItem(Index)
{
    public string AnswerLetter => ChoiceAnswer.Letter(AnswerIndex);

    public override string? Reference => AnswerLetter;

    public override string? TaskId => Id;

    /// <summary>The verdict on a completion: the letter it chose, compared with the right one.</summary>
    public BenchmarkVerdict Score(string completion)
    {
        string? letter = ChoiceAnswer.Extract(completion, Choices.Count);
        return new BenchmarkVerdict(Index, completion, letter, letter, AnswerLetter, letter == AnswerLetter);
    }
}
