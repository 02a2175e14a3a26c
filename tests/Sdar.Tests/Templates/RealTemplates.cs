using System.Text.Json;
using Sdar.Templates;

namespace Sdar.Tests.Templates;

/// <summary>The real chat templates the suite has, and a long conversation to render them with.</summary>
internal static class RealTemplates
{
    /// <summary>Gemma's chat template (google/gemma-2-2b-it tokenizer_config.json), as transformers ships it.</summary>
    public const string Gemma =
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
        "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
        "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
        "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

    public static string Qwen3 => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-template", "qwen3.jinja"));

    public static IReadOnlyList<(string Name, string Source)> All =>
    [
        ("Qwen3", Qwen3),
        ("Llama 3", OtherChatTemplateTests.Llama3),
        ("Mistral", OtherChatTemplateTests.Mistral),
        ("Gemma", Gemma),
        ("ChatML", OtherChatTemplateTests.ChatMl),
    ];

    /// <summary>
    /// 50 alternating user/assistant messages of a few hundred characters; with <paramref name="withTools"/>
    /// every fifth assistant turn calls a tool and gets a tool response, with reasoning in the last answer.
    /// </summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, object?>> LongConversation(bool withTools)
    {
        var messages = new List<object>();
        for (int i = 0; i < 50; i++)
        {
            string text = string.Concat(Enumerable.Repeat($"Message {i}: some text about step {i} of the plan. ", 8));
            if (i % 2 == 0)
            {
                messages.Add(new { role = "user", content = text });
            }
            else if (withTools && i % 10 == 1)
            {
                messages.Add(new { role = "assistant", content = "", tool_calls = new[] { new { type = "function", function = new { name = "get_weather", arguments = new { city = $"City {i}" } } } } });
                messages.Add(new { role = "tool", content = "{\"temp_c\": 21.5}" });
                messages.Add(new { role = "assistant", content = text });
            }
            else
            {
                messages.Add(new { role = "assistant", content = i == 49 ? "<think>\nreasoning\n</think>\n\n" + text : text });
            }
        }
        return ChatMessages.FromJson(JsonSerializer.Serialize(messages));
    }

    public static IReadOnlyList<object?> Tools() => JsonSerializer.Deserialize<List<JsonElement>>("""
        [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "search", "description": "Search the web", "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}}}]
        """)!.Cast<object?>().ToList();

    /// <summary>The variables a chat render gets: Qwen3 with tools, the others without (they do not support them).</summary>
    public static Dictionary<string, object?> ChatVariables(string name) => name == "Qwen3"
        ? ChatTemplate.ChatVariables(LongConversation(withTools: true), addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", tools: Tools())
        : ChatTemplate.ChatVariables(LongConversation(withTools: false), addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>");
}
