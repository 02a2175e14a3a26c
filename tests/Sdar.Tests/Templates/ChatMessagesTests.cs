using Sdar.Templates;

namespace Sdar.Tests.Templates;

public class ChatMessagesTests
{
    [Fact]
    public void FromJson_keeps_every_field_with_python_like_values()
    {
        var messages = ChatMessages.FromJson("""
            [{"role": "user", "content": "hi"},
             {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": {"n": 1, "x": 1.5, "ok": true}}}]}]
            """);
        Assert.Equal(2, messages.Count);
        Assert.Equal("hi", messages[0]["content"]);
        Assert.Null(messages[1]["content"]);
        var call = (IReadOnlyDictionary<string, object?>)((IReadOnlyList<object?>)messages[1]["tool_calls"]!)[0]!;
        var arguments = (IReadOnlyDictionary<string, object?>)((IReadOnlyDictionary<string, object?>)call["function"]!)["arguments"]!;
        Assert.Equal(1L, arguments["n"]);
        Assert.Equal(1.5, arguments["x"]);
        Assert.Equal(true, arguments["ok"]);
        Assert.Equal("{\"n\": 1, \"x\": 1.5, \"ok\": true}", ChatTemplate.Parse("{{ messages[1].tool_calls[0].function.arguments|tojson }}")
            .RenderChat(messages, addGenerationPrompt: false));
    }

    [Theory]
    [InlineData("{\"role\": \"user\"}", "expected a JSON array of message objects, got an object")]
    [InlineData("[{\"role\": \"user\", \"content\": \"a\"}, 5]", "messages[1]: expected a message object, got a number")]
    [InlineData("[{\"content\": \"a\"}]", "messages[0].role: missing")]
    [InlineData("[{\"role\": 3, \"content\": \"a\"}]", "messages[0].role: expected a string, got a number")]
    [InlineData("[{\"role\": \"user\", \"content\": 7}]", "messages[0].content: expected a string, null or a list of parts, got a number")]
    [InlineData("[{\"role\": \"user\",", "messages: invalid JSON")]
    public void FromJson_names_the_bad_element_and_field(string json, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ChatMessages.FromJson(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_builds_a_role_and_content_pair()
    {
        var m = ChatMessages.Message("user", "hello");
        Assert.Equal("user", m["role"]);
        Assert.Equal("hello", m["content"]);
        Assert.Equal(2, m.Count);
    }

    [Theory]
    [InlineData("""[{"role": "user", "content": "a\ud800b"}]""", "messages[0].content: holds a lone UTF-16 surrogate escape")]
    [InlineData("""[{"role": "user", "\udc00": 1}]""", "messages[0] (key #1): holds a lone UTF-16 surrogate escape")]
    public void A_lone_surrogate_in_messages_is_an_argument_error_naming_the_field(string json, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ChatMessages.FromJson(json));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
