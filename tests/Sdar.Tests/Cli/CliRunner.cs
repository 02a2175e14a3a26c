using Sdar.Cli;

namespace Sdar.Tests.Cli;

/// <summary>Runs the sdar command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "fixtures", .. parts]);

    public static string TinySdar => Fixture("sdar-golden", "tiny-sdar");
    public static string TinyQwen3 => Fixture("sdar-golden", "tiny-qwen3");

    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SdarCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
