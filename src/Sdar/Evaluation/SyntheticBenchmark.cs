using Sdar.Data;

namespace Sdar.Evaluation;

/// <summary>
/// The bundled synthetic suite (<c>sdar data generate</c>: GSM8K-format arithmetic, counting, sorting, ... items):
/// GSM8K's file format and zero-shot prompt, scored strictly as the models were trained to answer: the number after
/// the last <c>####</c> of the completion, with no fallback to other numbers in the text (<see cref="GsmAnswer.Extract"/>).
/// </summary>
public sealed class SyntheticBenchmark : IBenchmark
{
    private readonly Gsm8kBenchmark _format = new();

    public string Name => "synthetic";

    public IReadOnlyList<BenchmarkItem> Read(string path) => _format.Read(path);

    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots) => _format.Prompt(item, shots);

    public BenchmarkVerdict Score(BenchmarkItem item, string completion)
    {
        var gsm = (GsmItem)item;
        string? predicted = GsmAnswer.Extract(completion);
        return new BenchmarkVerdict(item.Index, completion, predicted, predicted, gsm.FinalAnswer, predicted is not null && predicted == gsm.FinalAnswer);
    }
}
