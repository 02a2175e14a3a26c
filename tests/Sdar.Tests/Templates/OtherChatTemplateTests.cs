using Sdar.Templates;

namespace Sdar.Tests.Templates;

/// <summary>
/// Other families' chat templates (written in the style of their public tokenizer_config.json files) render as
/// Python Jinja2 renders them, to show the engine is not tied to Qwen.
/// </summary>
public class OtherChatTemplateTests
{
    internal const string Llama3 = """
        {{- bos_token }}
        {%- if messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content']|trim %}
            {%- set messages = messages[1:] %}
        {%- else %}
            {%- set system_message = "" %}
        {%- endif %}
        {%- if system_message %}
        {{- '<|start_header_id|>system<|end_header_id|>\n\n' + system_message + '<|eot_id|>' }}
        {%- endif %}
        {%- for message in messages %}
            {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
                {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
            {%- endif %}
            {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
        {%- endif %}

        """;

    internal const string Mistral = """
        {%- if messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content'] %}
            {%- set loop_messages = messages[1:] %}
        {%- else %}
            {%- set loop_messages = messages %}
        {%- endif %}

        {{- bos_token }}
        {%- for message in loop_messages %}
            {%- if message['role'] == 'user' %}
                {%- if loop.first and system_message is defined %}
                    {{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}
                {%- else %}
                    {{- ' [INST] ' + message['content'] + ' [/INST]' }}
                {%- endif %}
            {%- elif message['role'] == 'assistant' %}
                {{- ' ' + message['content'] + eos_token}}
            {%- else %}
                {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
            {%- endif %}
        {%- endfor %}

        """;

    internal const string ChatMl =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private static readonly IReadOnlyList<IReadOnlyDictionary<string, object?>> Conversation =
    [
        ChatMessages.Message("system", "  You are helpful.  "),
        ChatMessages.Message("user", "Hi "),
        ChatMessages.Message("assistant", "Hello!"),
        ChatMessages.Message("user", "Bye"),
    ];

    [Fact]
    public void Llama3_template_trims_the_system_message_and_adds_the_assistant_header()
    {
        string rendered = ChatTemplate.Parse(Llama3).RenderChat(Conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>");
        Assert.Equal(
            "<s><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            rendered);
    }

    [Fact]
    public void Llama3_template_rejects_non_alternating_roles_with_its_own_message()
    {
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(Llama3).RenderChat([Conversation[1], Conversation[1]], addGenerationPrompt: false));
        Assert.Contains("Conversation roles must alternate user/assistant/user/assistant/...", e.Message, StringComparison.Ordinal);
        Assert.Equal(13, e.Line);
    }

    [Fact]
    public void Mistral_template_folds_the_system_message_into_the_first_instruction()
    {
        var template = ChatTemplate.Parse(Mistral);
        Assert.Equal("<s> [INST]   You are helpful.  \n\nHi  [/INST] Hello!</s> [INST] Bye [/INST]",
            template.RenderChat(Conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>"));
        Assert.Equal("<s> [INST] Hi  [/INST] Hello!</s> [INST] Bye [/INST]",
            template.RenderChat(Conversation.Skip(1).ToList(), addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>"));
    }

    [Fact]
    public void ChatMl_template_renders_every_turn_and_the_generation_prompt()
    {
        Assert.Equal("<|im_start|>user\nHi <|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.Parse(ChatMl).RenderChat([Conversation[1]], addGenerationPrompt: true));
    }

    [Fact]
    public void Render_accepts_plain_dotnet_collections_and_numbers()
    {
        var template = ChatTemplate.Parse("{{ xs|sum }} {{ names|join(',') }} {{ d.k }} {{ f }}");
        string rendered = template.Render(new Dictionary<string, object?>
        {
            ["xs"] = new[] { 1, 2, 3 },
            ["names"] = new List<string> { "a", "b" },
            ["d"] = new Dictionary<string, object?> { ["k"] = 2.5f },
            ["f"] = 0.1,
        });
        Assert.Equal("6 a,b 2.5 0.1", rendered);
    }
}
