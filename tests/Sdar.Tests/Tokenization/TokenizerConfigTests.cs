namespace Sdar.Tests.Tokenization;

public sealed class TokenizerConfigTests : IDisposable
{
    private readonly SyntheticTokenizer _t = new();

    public void Dispose() => _t.Dispose();

    [Fact]
    public void Without_a_config_there_is_no_template_and_no_special_token_names()
    {
        var tok = _t.Load();
        Assert.Null(tok.ChatTemplate);
        Assert.Null(tok.EosToken);
        Assert.Null(tok.PadToken);
        Assert.Null(tok.BosToken);
    }

    [Fact]
    public void Token_names_may_be_strings_or_added_token_objects()
    {
        _t.WriteFile("tokenizer_config.json", """
            {"eos_token": {"__type": "AddedToken", "content": "<|im_end|>", "special": true},
             "pad_token": "<|endoftext|>", "bos_token": null, "chat_template": "{{ messages }}"}
            """);
        var tok = _t.Load();
        Assert.Equal("<|im_end|>", tok.EosToken);
        Assert.Equal("<|endoftext|>", tok.PadToken);
        Assert.Null(tok.BosToken);
        Assert.Equal("{{ messages }}", tok.ChatTemplate);
    }

    [Fact]
    public void A_list_of_named_templates_yields_the_default_one()
    {
        _t.WriteFile("tokenizer_config.json", """
            {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """);
        Assert.Equal("D", _t.Load().ChatTemplate);
    }

    [Fact]
    public void A_chat_template_jinja_file_overrides_the_config()
    {
        _t.WriteFile("tokenizer_config.json", """{"chat_template": "old", "eos_token": "<e>"}""");
        _t.WriteFile("chat_template.jinja", "{%- for m in messages %}{{ m.content }}{% endfor %}\n");
        var tok = _t.Load();
        Assert.Equal("{%- for m in messages %}{{ m.content }}{% endfor %}\n", tok.ChatTemplate);
        Assert.Equal("<e>", tok.EosToken);
    }
}
