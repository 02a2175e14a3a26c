namespace Sdar.Cli;

public static class Program
{
    public static int Main(string[] args) => SdarCli.Run(args, Console.Out, Console.Error);
}
