using System.Text.Json.Nodes;
using Sdar.Tokenization;

namespace Sdar.Tests.Tokenization;

public sealed class TokenizerErrorTests : IDisposable
{
    private readonly SyntheticTokenizer _t = new();

    public void Dispose() => _t.Dispose();

    private CheckpointException LoadFails()
    {
        string path = _t.Write();
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void A_missing_tokenizer_file_is_named()
    {
        string path = Path.Combine(_t.Folder, "nope", "tokenizer.json");
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void A_missing_model_folder_is_named()
    {
        string folder = Path.Combine(_t.Folder, "nope");
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.FromDirectory(folder));
        Assert.Contains(folder, e.Message);
    }

    [Fact]
    public void Bad_json_is_reported_with_the_file()
    {
        _t.WriteFile("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(_t.TokenizerPath));
        Assert.Contains(_t.TokenizerPath, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void A_model_that_is_not_bpe_is_refused()
    {
        _t.Model["type"] = "WordPiece";
        var e = LoadFails();
        Assert.Contains("'model.type'", e.Message);
        Assert.Contains("\"BPE\"", e.Message);
        Assert.Contains("\"WordPiece\"", e.Message);
    }

    [Fact]
    public void A_missing_model_type_is_refused()
    {
        _t.Model.Remove("type");
        Assert.Contains("'model.type' is required", LoadFails().Message);
    }

    [Fact]
    public void Missing_merges_are_refused()
    {
        _t.Model.Remove("merges");
        Assert.Contains("'model.merges' is required and must be an array", LoadFails().Message);
    }

    [Theory]
    [InlineData("\"he\"")]
    [InlineData("\"h e x\"")]
    [InlineData("[\"h\"]")]
    [InlineData("[\"h\", 5]")]
    [InlineData("42")]
    public void A_merge_of_the_wrong_form_is_named_by_its_index(string badMerge)
    {
        _t.Model["merges"]!.AsArray().Insert(1, JsonNode.Parse(badMerge));
        var e = LoadFails();
        Assert.Contains("'model.merges[1]'", e.Message);
        Assert.Contains("\"a b\"", e.Message);
    }

    [Fact]
    public void A_merge_of_unknown_tokens_is_refused()
    {
        _t.Model["merges"]!.AsArray().Add("x yz");
        var e = LoadFails();
        Assert.Contains("'model.merges[6]'", e.Message);
        Assert.Contains("yz", e.Message);
    }

    [Fact]
    public void A_vocab_id_that_is_not_an_integer_is_named()
    {
        _t.Model["vocab"]!["hello"] = "seven";
        Assert.Contains("'model.vocab[\"hello\"]' must be an integer id", LoadFails().Message);
    }

    [Fact]
    public void An_absurd_added_token_id_is_refused()
    {
        _t.AddToken(int.MaxValue, "<x>");
        Assert.Contains("'added_tokens[0].id' must be an integer id from 0 to", LoadFails().Message);
    }

    [Fact]
    public void Two_tokens_with_one_id_are_refused()
    {
        _t.Model["vocab"]!["hello"] = 0;
        Assert.Contains("gives id 0 to both", LoadFails().Message);
    }

    [Fact]
    public void An_added_token_without_id_is_named()
    {
        _t.Json["added_tokens"]!.AsArray().Add(new JsonObject { ["content"] = "<x>", ["special"] = true });
        Assert.Contains("'added_tokens[0].id' is required", LoadFails().Message);
    }

    [Fact]
    public void An_unsupported_normalizer_is_named()
    {
        _t.Json["normalizer"] = new JsonObject { ["type"] = "Lowercase" };
        var e = LoadFails();
        Assert.Contains("'normalizer.type'", e.Message);
        Assert.Contains("\"Lowercase\"", e.Message);
    }

    [Fact]
    public void A_regex_dotnet_cannot_run_is_named()
    {
        _t.Json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(?<=x";
        Assert.Contains("'pre_tokenizer.pretokenizers[0].pattern.Regex' must be a regular expression", LoadFails().Message);
    }

    [Fact]
    public void A_tokenizer_without_byte_level_is_refused()
    {
        _t.Json["pre_tokenizer"]!["pretokenizers"]!.AsArray().RemoveAt(1);
        Assert.Contains("'pre_tokenizer' must contain a ByteLevel step", LoadFails().Message);
    }

    [Fact]
    public void A_decoder_that_is_not_byte_level_is_refused()
    {
        _t.Json["decoder"] = new JsonObject { ["type"] = "WordPiece" };
        Assert.Contains("'decoder.type' must be \"ByteLevel\"", LoadFails().Message);
    }

    [Fact]
    public void Byte_fallback_is_refused()
    {
        _t.Model["byte_fallback"] = true;
        Assert.Contains("'model.byte_fallback'", LoadFails().Message);
    }

    [Fact]
    public void A_bad_tokenizer_config_field_is_named()
    {
        _t.WriteFile("tokenizer_config.json", "{\"eos_token\": 7}");
        string path = _t.Write();
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains(Path.Combine(_t.Folder, "tokenizer_config.json"), e.Message);
        Assert.Contains("'eos_token'", e.Message);
    }

    [Fact]
    public void A_merge_whose_result_is_not_in_the_vocabulary_is_named_by_its_index()
    {
        _t.Model["merges"]!.AsArray().Add("h o");
        var e = LoadFails();
        Assert.Contains("field 'model.merges[6]' must merge tokens of model.vocab into a token of model.vocab; \"ho\" is not in it", e.Message);
    }

    [Fact]
    public void A_token_listed_twice_in_the_vocabulary_is_refused()
    {
        string path = _t.Write();
        string json = File.ReadAllText(path).Replace("\"hello\":", "\"hell\":999,\"hello\":", StringComparison.Ordinal);
        File.WriteAllText(path, json);
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains("field 'model.vocab' lists the token \"hell\" twice", e.Message);
    }

    [Fact]
    public void Two_added_tokens_with_one_id_are_refused()
    {
        _t.AddToken(300, "<a>");
        _t.AddToken(300, "<b>");
        Assert.Contains("field 'added_tokens[1].id' must differ from the id of the added token \"<a>\" (300)", LoadFails().Message);
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void A_lone_surrogate_in_a_tokenizer_file_is_an_error_naming_the_file_and_field(string file)
    {
        string path = _t.Write();
        string target = Path.Combine(_t.Folder, file);
        if (file == "tokenizer.json")
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"hello\":", "\"hel\\ud800lo\":", StringComparison.Ordinal));
        else
            _t.WriteFile(file, "{\"chat_template\": \"{{ x }}\\udc00\"}");
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains($"'{target}'", e.Message);
        Assert.Contains(file == "tokenizer.json" ? "field 'model.vocab.(key #" : "field 'chat_template'", e.Message);
        Assert.Contains("lone UTF-16 surrogate", e.Message);
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void Invalid_utf8_in_a_tokenizer_file_is_an_error_naming_the_file(string file)
    {
        string path = _t.Write();
        string target = Path.Combine(_t.Folder, file);
        byte[] bytes = file == "tokenizer.json" ? File.ReadAllBytes(path) : "{\"eos_token\": \"<x>\"}"u8.ToArray();
        bytes[bytes.Length / 2] = 0xC0;
        File.WriteAllBytes(target, bytes);
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains($"'{target}' is not valid UTF-8: byte 0xC0 at offset {bytes.Length / 2:N0}", e.Message);
    }

    [Fact]
    public void Invalid_utf8_in_chat_template_jinja_is_an_error_naming_the_file()
    {
        string path = _t.Write();
        File.WriteAllBytes(Path.Combine(_t.Folder, "chat_template.jinja"), [(byte)'{', 0xFF, (byte)'}']);
        var e = Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path));
        Assert.Contains("chat_template.jinja' is not valid UTF-8", e.Message);
    }

    [Fact]
    public void The_chat_template_says_where_it_was_read()
    {
        _t.WriteFile("tokenizer_config.json", "{\"chat_template\": \"{{ x }}\"}");
        Assert.Equal(Path.Combine(_t.Folder, "tokenizer_config.json") + " chat_template", _t.Load().ChatTemplateOrigin);
        _t.WriteFile("chat_template.jinja", "{{ y }}");
        Assert.Equal(Path.Combine(_t.Folder, "chat_template.jinja"), _t.Load().ChatTemplateOrigin);
    }

    [Theory]
    [InlineData("{\"chat_template\": 3}", "field 'chat_template' must be a string or a list")]
    [InlineData("{\"chat_template\": [{\"name\": \"default\"}]}", "field 'chat_template[0].template' is required")]
    [InlineData("{\"chat_template\": [7]}", "field 'chat_template[0]' must be an object")]
    [InlineData("{\"bos_token\": {\"content\": 5}}", "field 'bos_token.content' must be a string")]
    [InlineData("[1, 2]", "must hold a JSON object")]
    public void Wrong_types_in_tokenizer_config_are_named(string json, string expected)
    {
        _t.WriteFile("tokenizer_config.json", json);
        string path = _t.Write();
        Assert.Contains(expected, Assert.Throws<CheckpointException>(() => HfTokenizer.Load(path)).Message);
    }

    [Fact]
    public void A_catastrophically_backtracking_split_pattern_fails_within_its_time_budget_naming_the_file_and_field()
    {
        // Lookahead keeps .NET on the backtracking engine, where (a+)+ on "aaa...ab" takes exponential time.
        _t.Json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(a+)+(?=c)";
        HfTokenizer tokenizer = _t.Load();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<TokenizerException>(() => tokenizer.Encode(new string('a', 40) + "b"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains($"Tokenizer file '{_t.TokenizerPath}': the pre_tokenizer pattern at 'pre_tokenizer.pretokenizers[0].pattern.Regex' took longer than 2 s", e.Message);
        Assert.Contains("(a+)+(?=c)", e.Message);
    }
}
