using System.Text;
using Sdar.Data;

namespace Sdar.Evaluation;

/// <summary>A GSM8K problem: the question and the worked answer ending in <c>#### n</c>.</summary>
public sealed record GsmItem(int Index, string Question, string Answer, string FinalAnswer) : BenchmarkItem(Index)
{
    public override string? Reference => FinalAnswer;
}

/// <summary>
/// GSM8K (openai/grade-school-math test.jsonl): exact match of the final number, read from the reference after
/// <c>####</c> (<c>extract_answer</c>, commas removed) and from the completion by <see cref="GsmAnswer.ExtractPrediction"/>.
/// Numbers compare by value: "3.0" equals "3", "-3" does not, "$1,000." is 1000.
/// </summary>
public sealed class Gsm8kBenchmark : IBenchmark
{
    public string Name => "gsm8k";

    public IReadOnlyList<BenchmarkItem> Read(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
    {
        string question = JsonFields.RequiredString(root, "question", where), answer = JsonFields.RequiredString(root, "answer", where);
        string final = GsmAnswer.Extract(answer) ?? throw new BenchmarkDataException($"{where}: field \"answer\" has no final number after \"{GsmAnswer.Marker}\"");
        return new GsmItem(index, question, answer, final);
    });

    /// <summary>Zero-shot: the question as it is. With shots: "Question: ...\nAnswer: ..." pairs, then the question.</summary>
    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots)
    {
        var gsm = (GsmItem)item;
        if (shots.Count == 0) return gsm.Question;
        var prompt = new StringBuilder();
        foreach (GsmItem shot in shots) prompt.Append("Question: ").Append(shot.Question).Append("\nAnswer: ").Append(shot.Answer).Append("\n\n");
        return prompt.Append("Question: ").Append(gsm.Question).Append("\nAnswer:").ToString();
    }

    public BenchmarkVerdict Score(BenchmarkItem item, string completion)
    {
        var gsm = (GsmItem)item;
        string? predicted = GsmAnswer.ExtractPrediction(completion);
        return new BenchmarkVerdict(item.Index, completion, predicted, predicted, gsm.FinalAnswer, predicted == gsm.FinalAnswer);
    }
}
