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
        Assert.Contains("'model.merges'", e.Message);
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
}
