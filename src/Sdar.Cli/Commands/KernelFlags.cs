using System.CommandLine;
using Sdar.Model.Kernels;

namespace Sdar.Cli.Commands;

/// <summary>The kernel flags of every command that runs the fast engine (<c>--threads</c>), read into <see cref="KernelSettings"/>.</summary>
internal sealed class KernelFlags
{
    private readonly Option<int?> _threads = new("--threads") { Description = "Worker threads of the fast engine (default: all cores).", HelpName = "N" };

    public KernelFlags() => _threads.Integer(1, 4096);

    public void AddTo(Command command) => command.Add(_threads);

    public KernelSettings Read(ParseResult parse) =>
        parse.GetValue(_threads) is int threads ? KernelSettings.Default with { Threads = threads } : KernelSettings.Default;
}
