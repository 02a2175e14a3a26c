namespace Sdar.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("sdar: commands are being built");
        return args.Length == 0 ? 1 : 1;
    }
}
