using Sdar.Serving;

namespace Sdar.Tests.Serving;

public sealed class ReasoningSplitterTests
{
    private static (string Reasoning, string Content, bool Thought) Split(IEnumerable<string> pieces)
    {
        var splitter = new ReasoningSplitter();
        string reasoning = "", content = "";
        foreach (string piece in pieces)
        {
            var (r, c) = splitter.Push(piece);
            reasoning += r;
            content += c;
        }
        var (fr, fc) = splitter.Finish();
        return (reasoning + fr, content + fc, splitter.Thought);
    }

    private static IEnumerable<string> Pieces(string text, int size)
    {
        for (int i = 0; i < text.Length; i += size) yield return text.Substring(i, Math.Min(size, text.Length - i));
    }

    [Theory]
    [InlineData("<think>\nadd the ones\n</think>\n\nThe answer is 4.", "add the ones\n", "The answer is 4.", true)]
    [InlineData("The answer is 4.", "", "The answer is 4.", false)]
    [InlineData("<thinking is not a tag", "", "<thinking is not a tag", false)]
    [InlineData("<think>never closed", "never closed", "", true)]
    [InlineData("<think></think>4", "", "4", true)]
    [InlineData("<t", "", "<t", false)]
    public void Every_chunking_gives_the_split_of_the_whole_answer(string answer, string reasoning, string content, bool thought)
    {
        for (int size = 1; size <= answer.Length; size++)
            Assert.Equal((reasoning, content, thought), Split(Pieces(answer, size)));
    }
}
