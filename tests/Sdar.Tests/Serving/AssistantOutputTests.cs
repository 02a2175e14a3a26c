using Sdar.Serving;

namespace Sdar.Tests.Serving;

public sealed class AssistantOutputTests
{
    [Fact]
    public void Thinking_is_split_out_whether_or_not_the_output_opens_it()
    {
        var full = AssistantOutput.Parse("<think>\nadd the ones\n</think>\n\nThe answer is 4.");
        Assert.Equal("add the ones", full.Reasoning);
        Assert.Equal("The answer is 4.", full.Content);

        var opened = AssistantOutput.Parse("add the ones</think>The answer is 4.");   // the template opened <think>
        Assert.Equal("add the ones", opened.Reasoning);
        Assert.Equal("The answer is 4.", opened.Content);

        var empty = AssistantOutput.Parse("<think>\n\n</think>\n\n4");
        Assert.Equal("", empty.Reasoning);
        Assert.Equal("4", empty.Content);

        var unclosed = AssistantOutput.Parse("<think>still thinking when the tokens ran out");
        Assert.Equal("still thinking when the tokens ran out", unclosed.Reasoning);
        Assert.Equal("", unclosed.Content);

        var none = AssistantOutput.Parse("Just 4.");
        Assert.Null(none.Reasoning);
        Assert.Equal("Just 4.", none.Content);
    }

    [Fact]
    public void Tool_calls_become_calls_and_a_malformed_one_stays_text()
    {
        var output = AssistantOutput.Parse(
            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n" +
            "<tool_call>{\"name\": \"get_time\", \"arguments\": \"{\\\"zone\\\": \\\"CET\\\"}\"}</tool_call>" +
            "<tool_call>{\"name\": \"broken\", \"arguments\": {</tool_call>");
        Assert.Equal(2, output.ToolCalls.Count);
        Assert.Equal(new ToolCall("call_0", "get_weather", "{\"city\": \"Paris\"}"), output.ToolCalls[0]);
        Assert.Equal("get_time", output.ToolCalls[1].Name);
        Assert.Equal("{\"zone\": \"CET\"}", output.ToolCalls[1].ArgumentsJson);
        Assert.Equal("Let me look.\n<tool_call>{\"name\": \"broken\", \"arguments\": {</tool_call>", output.Content);

        Assert.Empty(AssistantOutput.Parse("<tool_call>{\"arguments\": {}}</tool_call>").ToolCalls);          // no name
        Assert.Empty(AssistantOutput.Parse("<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>").ToolCalls);   // not an object
        Assert.Single(AssistantOutput.Parse("<tool_call>{\"name\": \"f\"}</tool_call>").ToolCalls);            // no arguments = {}
        Assert.Equal("<tool_call>{\"name\": \"f\"}", AssistantOutput.Parse("<tool_call>{\"name\": \"f\"}").Content);   // never closed
    }
}
