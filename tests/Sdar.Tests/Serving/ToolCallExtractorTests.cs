using Sdar.Serving;

namespace Sdar.Tests.Serving;

public sealed class ToolCallExtractorTests
{
    private const string Weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
    private const string Time = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
    private const string Broken = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\n</tool_call>";

    private static (string Reasoning, string Content, List<ToolCall> Calls) Parse(IEnumerable<string> pieces, bool tools = true, bool parallel = true)
    {
        var parser = new AssistantStreamParser(tools, "call_", parallel);
        string reasoning = "", content = "";
        var calls = new List<ToolCall>();
        foreach (var delta in pieces.Select(parser.Push).Concat(Enumerable.Repeat(0, 1).Select(_ => parser.Finish())))
        {
            reasoning += delta.Reasoning;
            content += delta.Content;
            calls.AddRange(delta.ToolCalls);
        }
        Assert.Equal(calls.Count, parser.CallCount);
        return (reasoning, content, calls);
    }

    private static IEnumerable<string> Pieces(string text, int size)
    {
        for (int i = 0; i < text.Length; i += size) yield return text.Substring(i, Math.Min(size, text.Length - i));
    }

    public static TheoryData<string, string, string[]> Answers => new()
    {
        { Weather, "", ["get_weather"] },
        { "Let me look.\n" + Weather, "Let me look.", ["get_weather"] },
        { "Let me look.\n" + Weather + "\n" + Time + "\nDone.", "Let me look.\nDone.", ["get_weather", "get_time"] },
        { "<think>\nwhich tool?\n</think>\n\n" + Weather, "", ["get_weather"] },
        { Broken, Broken, [] },
        { "Before\n" + Broken + "\nafter", "Before\n" + Broken + "\nafter", [] },
        { Weather + "\n" + Broken, Broken, ["get_weather"] },
        { "<tool_call>\n{\"name\": \"f\"}", "<tool_call>\n{\"name\": \"f\"}", [] },       // never closed
        { "a <tool_cal", "a <tool_cal", [] },                                            // a partial tag at the end is text
        { "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>", [] },   // no name
        { "x </tool_call> y", "x </tool_call> y", [] },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void Every_chunking_gives_the_calls_and_content_of_the_whole_answer(string answer, string content, string[] names)
    {
        var whole = Parse([answer]);
        Assert.Equal(content, whole.Content);
        Assert.Equal(names, whole.Calls.Select(c => c.Name));
        Assert.Equal(whole.Calls.Select((_, i) => $"call_{i}"), whole.Calls.Select(c => c.Id));
        for (int size = 1; size < answer.Length; size++)
        {
            var chunked = Parse(Pieces(answer, size));
            Assert.Equal(whole.Reasoning, chunked.Reasoning);
            Assert.Equal(whole.Content, chunked.Content);
            Assert.Equal(whole.Calls, chunked.Calls);
        }
    }

    [Fact]
    public void Arguments_come_back_as_json_text_whether_the_model_wrote_an_object_or_a_string()
    {
        var call = Assert.Single(Parse(["<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2]}\"}</tool_call>"]).Calls);
        Assert.Equal("{\"a\": [1, 2]}", call.ArgumentsJson);
        Assert.Empty(Parse(["<tool_call>{\"name\": \"f\", \"arguments\": \"[1]\"}</tool_call>"]).Calls);
        Assert.Empty(Parse(["<tool_call>{\"name\": \"f\", \"arguments\": 3}</tool_call>"]).Calls);
        Assert.Equal("{}", Assert.Single(Parse(["<tool_call>{\"name\": \"f\"}</tool_call>"]).Calls).ArgumentsJson);
    }

    [Fact]
    public void Without_tools_a_tool_call_is_text_and_with_parallel_calls_off_only_the_first_is_returned()
    {
        string answer = Weather + "\n" + Time;
        var plain = Parse([answer], tools: false);
        Assert.Equal(answer, plain.Content);
        Assert.Empty(plain.Calls);

        for (int size = 1; size <= answer.Length; size += 7)
        {
            var single = Parse(Pieces(answer, size), parallel: false);
            Assert.Equal("get_weather", Assert.Single(single.Calls).Name);
            Assert.Equal("", single.Content);
        }
    }
}
