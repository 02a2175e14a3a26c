using System.CommandLine;
using Sdar.Model.Kernels;

namespace Sdar.Cli.Commands;

/// <summary>The kernel flags of every command that runs the fast engine (<c>--threads</c>, <c>--activations</c>), read into <see cref="KernelSettings"/>.</summary>
internal sealed class KernelFlags
{
    private readonly Option<int?> _threads = new("--threads") { Description = "Worker threads of the fast engine (default: all cores).", HelpName = "N" };

    private readonly Option<string?> _activations = new("--activations")
    {
        Description = "What q8 / q4 weights multiply: auto (default: float for q8, int8 for q4, the faster kind of each here), int8 (activations quantized per group of 32, integer dot products, ggml's way) or float (each product equals the F32 product over the dequantized weights).",
        HelpName = "auto|int8|float",
    };

    public KernelFlags()
    {
        _threads.Integer(1, 4096);
        _activations.OneOfNames(["auto", "int8", "float"]);
    }

    public void AddTo(Command command)
    {
        command.Add(_threads);
        command.Add(_activations);
    }

    public KernelSettings Read(ParseResult parse)
    {
        var settings = KernelSettings.Default;
        if (parse.GetValue(_threads) is int threads) settings = settings with { Threads = threads };
        return parse.GetValue(_activations)?.ToLowerInvariant() switch
        {
            "float" => settings with { Activations = QuantizedActivations.Float },
            "int8" when !System.Runtime.Intrinsics.X86.Avx2.IsSupported =>
                throw new ArgumentException("--activations: int8 needs AVX2, which this machine lacks; use float"),
            "int8" => settings with { Activations = QuantizedActivations.Int8 },
            _ => settings,
        };
    }
}
