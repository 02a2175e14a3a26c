using System.CommandLine;

namespace Sdar.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("sdar: SDAR block-diffusion language models in C#")
        {
            DataCommands.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
