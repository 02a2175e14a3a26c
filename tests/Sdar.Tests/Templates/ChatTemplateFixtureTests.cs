using System.Text.Json;
using Sdar.Templates;

namespace Sdar.Tests.Templates;

/// <summary>Real chat templates against renderings by @huggingface/jinja and Python Jinja2 (see fixtures' SOURCES.txt).</summary>
public class ChatTemplateFixtureTests
{
    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-template", name);

    private static ChatTemplate Load(string source) => ChatTemplate.Parse(File.ReadAllText(FixturePath($"{source}.jinja")));

    public static TheoryData<int> CaseIndices()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(FixturePath("cases.json")));
        var data = new TheoryData<int>();
        for (int i = 0; i < doc.RootElement.GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Fixture_case_renders_byte_identically(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(FixturePath("cases.json")));
        JsonElement c = doc.RootElement[index];
        string source = c.GetProperty("template_source").GetString()!;
        var messages = ChatMessages.FromJson(c.GetProperty("messages").GetRawText());
        JsonElement thinking = c.GetProperty("enable_thinking");
        bool? enableThinking = thinking.ValueKind == JsonValueKind.Null ? null : thinking.GetBoolean();
        string eos = source == "qwen3" ? "<|im_end|>" : "<|endoftext|>";

        string rendered = Load(source).RenderChat(messages, c.GetProperty("add_generation_prompt").GetBoolean(), enableThinking, bosToken: "", eosToken: eos);

        Assert.Equal(c.GetProperty("rendered").GetString(), rendered);
    }

    [Fact]
    public void Fixtures_hold_six_cases()
    {
        Assert.Equal(6, CaseIndices().Count);
    }

    [Fact]
    public void Qwen3_template_renders_tools_tool_calls_tool_responses_and_reasoning_like_jinja2()
    {
        // Expected output rendered by Python Jinja2 3.1.6 with transformers' settings and tojson.
        var messages = ChatMessages.FromJson("""
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Zürich?"},
             {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
             {"role": "tool", "content": "{\"temp_c\": 21.5}"},
             {"role": "assistant", "content": "<think>\nThe tool says 21.5.\n</think>\n\nIt is 21.5 °C."}]
            """);
        var tools = JsonSerializer.Deserialize<List<JsonElement>>("""
            [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
            """)!.Cast<object?>().ToList();

        string rendered = Load("qwen3").RenderChat(messages, addGenerationPrompt: false, eosToken: "<|im_end|>", tools: tools);

        Assert.Equal(
            "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
            "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Current weather for a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n" +
            "</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
            "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\nWeather in Zürich?<|im_end|>\n" +
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n{\"temp_c\": 21.5}\n</tool_response><|im_end|>\n" +
            "<|im_start|>assistant\n<think>\nThe tool says 21.5.\n</think>\n\nIt is 21.5 °C.<|im_end|>\n",
            rendered);
    }

    [Fact]
    public void Enable_thinking_null_leaves_the_variable_undefined()
    {
        var template = ChatTemplate.Parse("{{ enable_thinking is defined }}");
        Assert.Equal("False", template.RenderChat([], addGenerationPrompt: false));
        Assert.Equal("True", template.RenderChat([], addGenerationPrompt: false, enableThinking: false));
    }

    [Fact]
    public void RenderChat_passes_tools_as_none_when_not_given_like_transformers()
    {
        var template = ChatTemplate.Parse("{{ tools is defined }}/{{ tools is none }}/{{ bos_token }}/{{ eos_token }}/{{ add_generation_prompt }}");
        Assert.Equal("True/True/<s>/</s>/True", template.RenderChat([], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>"));
    }
}
