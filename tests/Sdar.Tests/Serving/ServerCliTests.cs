using Sdar.Cli;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Serving;

/// <summary><c>sdar serve</c>'s flags (the server itself is tested through HTTP).</summary>
public sealed class ServerCliTests
{
    [Fact]
    public void Help_lists_the_server_and_engine_flags()
    {
        var (code, output, _) = CliRunner.Run("serve", "--help");
        Assert.Equal(0, code);
        foreach (string flag in new[] { "--model", "--host", "--port", "--api-key", "--served-model-name", "--max-queued", "--max-running", "--kv-cache-mb", "--kv-storage" })
            Assert.Contains(flag, output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_that_is_not_an_address_is_one_line_naming_the_flag()
    {
        var (code, _, error) = CliRunner.Run("serve", "--model", CliRunner.TinySdar, "--host", "example.com", "--port", "0");
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--host", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--max-queued", "0")]
    public void Out_of_range_flags_are_refused(string flag, string value)
    {
        var (code, _, error) = CliRunner.Run("serve", "--model", CliRunner.TinySdar, flag, value);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve", "--shape", "sdar-99b")]
    [InlineData("serve", "--tokenizer", "models/sdar-mini")]
    [InlineData("bench serve", "--shape", "sdar-99b")]
    public void Shape_flags_are_checked(string command, string flag, string value)
    {
        string[] args = [.. command.Split(' '), flag, value];
        if (flag == "--tokenizer") args = [.. args, "--model", CliRunner.TinySdar];
        var (code, _, error) = CliRunner.Run(args);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains(flag == "--tokenizer" ? "--tokenizer" : "--shape", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_serve_prints_the_http_and_engine_figures_side_by_side()
    {
        var (code, output, error) = CliRunner.Run("bench", "serve", "--model", CliRunner.TinySdar, "--concurrency", "1,2", "--requests", "2", "--rounds", "1",
            "--max-new-tokens", "8", "--json");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (string line in lines)
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            var root = json.RootElement;
            Assert.Equal(root.GetProperty("engine_generated_tokens").GetInt64(), root.GetProperty("generated_tokens").GetInt64());
            Assert.True(root.GetProperty("tokens_per_second").GetDouble() > 0);
        }
    }
}
