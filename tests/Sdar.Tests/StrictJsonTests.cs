using System.Text;
using System.Text.Json;

namespace Sdar.Tests;

public sealed class StrictJsonTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sdar-strict-json-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(byte[] bytes)
    {
        string path = Path.Combine(_folder, "config.json");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void A_valid_file_is_read_and_its_strings_decode()
    {
        string path = Write("\uFEFF{\"a\": [\"x\\ud83d\\ude00y\", {\"b\": \"\\\\ud800\"}],}");
        using JsonDocument doc = StrictJson.ReadFile(path);
        Assert.Equal("x\U0001F600y", doc.RootElement.GetProperty("a")[0].GetString());
        Assert.Equal("\\ud800", doc.RootElement.GetProperty("a")[1].GetProperty("b").GetString());
    }

    [Fact]
    public void Invalid_utf8_is_an_error_naming_the_file_and_the_offset()
    {
        string path = Write([.. "{\"a\": \"x"u8, 0xFF, .. "\"}"u8]);
        var e = Assert.Throws<CheckpointException>(() => StrictJson.ReadFile(path, "Model config"));
        Assert.Contains($"Model config '{path}' is not valid UTF-8", e.Message);
        Assert.Contains("0xFF at offset 8 (line 1)", e.Message);
    }

    [Theory]
    [InlineData("{\"model\": {\"vocab\": {\"a\": 1, \"b\": \"\\ud800\"}}}", "model.vocab.b", "\\ud800")]
    [InlineData("{\"x\": [\"ok\", \"\\udc00z\"]}", "x[1]", "\\udc00")]
    [InlineData("{\"x\": {\"\\uD800\": 1}}", "x.(key #0)", "\\uD800")]
    [InlineData("{\"x\": \"\\ud800\\u0041\"}", "x", "\\ud800")]
    public void A_lone_surrogate_escape_is_an_error_naming_the_file_and_the_field(string json, string field, string escape)
    {
        string path = Write(json);
        var e = Assert.Throws<CheckpointException>(() => StrictJson.ReadFile(path, "Tokenizer file"));
        Assert.Contains($"Tokenizer file '{path}': field '{field}' holds a lone UTF-16 surrogate escape '{escape}'", e.Message);
    }

    [Fact]
    public void Bad_json_is_an_error_naming_the_file()
    {
        string path = Write("{\"a\": ");
        var e = Assert.Throws<CheckpointException>(() => StrictJson.ReadFile(path));
        Assert.Contains($"'{path}' is not valid JSON", e.Message);
    }

    [Fact]
    public void A_file_over_the_size_cap_is_refused_before_it_is_parsed()
    {
        string path = Write(new string(' ', 100) + "{}");
        var e = Assert.Throws<CheckpointException>(() => StrictJson.ReadFile(path, maxBytes: 50));
        Assert.Contains("larger than 50 bytes", e.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string path = Path.Combine(_folder, "nope.json");
        var e = Assert.Throws<CheckpointException>(() => StrictJson.ReadFile(path, "Model config"));
        Assert.Equal($"Model config not found: '{path}'.", e.Message);
    }

    [Fact]
    public void The_caller_can_choose_its_own_error_type()
    {
        string path = Write("[");
        Assert.Throws<TestError>(() => StrictJson.ReadFile(path, error: m => new TestError(m)));
    }

    [Fact]
    public void GetString_names_the_field_of_a_value_that_is_not_a_string()
    {
        using JsonDocument doc = JsonDocument.Parse("{\"a\": 3}");
        var e = Assert.Throws<CheckpointException>(() => StrictJson.GetString(doc.RootElement.GetProperty("a"), "f.json", "a"));
        Assert.Equal("In 'f.json', field 'a' must be a string; found 3.", e.Message);
    }

    private sealed class TestError(string message) : SdarException(message);
}
