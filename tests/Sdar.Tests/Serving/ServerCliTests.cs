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
}
