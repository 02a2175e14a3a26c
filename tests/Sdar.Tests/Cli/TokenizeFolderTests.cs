using System.Text.Json;
using Sdar.Tests.Checkpoints;

namespace Sdar.Tests.Cli;

/// <summary><c>sdar tokenize</c> needs only the tokenizer files: no config.json, no weights.</summary>
public class TokenizeFolderTests
{
    [Fact]
    public void Tokenize_works_on_a_folder_with_tokenizer_files_only()
    {
        using var temp = new TempDir();
        CheckpointFolderFixtures.CopyTiny(temp.Path, "tokenizer.json", "tokenizer_config.json");
        var (code, output, error) = CliRunner.Run("tokenize", "--model", temp.Path, "--text", "hello world", "--json");
        Assert.True(code == 0, error);
        Assert.Equal("hello world", JsonDocument.Parse(output).RootElement.GetProperty("decoded").GetString());

        string messages = temp.File("messages.json");
        File.WriteAllText(messages, """[{"role": "user", "content": "Hi!"}]""");
        (code, output, error) = CliRunner.Run("tokenize", "--model", temp.Path, "--messages", messages, "--json");
        Assert.True(code == 0, error);
        Assert.Contains("<|im_start|>user\nHi!", JsonDocument.Parse(output).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void Tokenize_works_on_a_hub_cache_folder()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path, files: ["tokenizer.json"]);
        var (code, output, error) = CliRunner.Run("tokenize", "--model", repository, "--text", "hello", "--json");
        Assert.True(code == 0, error);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("ids").GetArrayLength() > 0);
    }

    [Fact]
    public void Tokenize_on_a_folder_without_tokenizer_json_is_a_one_line_error_naming_it()
    {
        using var temp = new TempDir();
        var (code, _, error) = CliRunner.Run("tokenize", "--model", temp.Path, "--text", "hello");
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(temp.Path, "tokenizer.json"), error);
    }
}
