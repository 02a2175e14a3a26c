namespace Sdar.Data;

/// <summary>
/// One verifiable task in the GSM8K layout: a question, and an answer made of worked steps (one sentence per line)
/// ending with the line <c>#### N</c>. <see cref="Family"/> names the generator, e.g. <c>word.shopping</c>.
/// </summary>
public sealed record TaskItem(string Question, string Answer, string Family)
{
    /// <summary>The final integer answer: the number after the last <c>####</c>.</summary>
    public long FinalAnswer => long.Parse(GsmAnswer.Extract(Answer)!, System.Globalization.CultureInfo.InvariantCulture);
}
