using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels;

/// <summary>
/// What a model's kernels run with: the number of workers, the vector width and what quantized weights multiply.
/// Each <see cref="FastModel"/> holds its own (nothing process-wide), so two models, or two tests, can run side by
/// side with different settings.
/// </summary>
public sealed record KernelSettings
{
    /// <summary>All cores, and the Vector512 kernels where the hardware has them.</summary>
    public static KernelSettings Default { get; } = new();

    private readonly int _threads = Environment.ProcessorCount;
    private readonly bool _useVector512 = Vector512.IsHardwareAccelerated;
    private readonly QuantizedActivations _activations = QuantizedActivations.Auto;

    /// <summary>Workers of the multithreaded kernels and of attention (at least 1).</summary>
    public int Threads
    {
        get => _threads;
        init => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Threads), value, "kernel threads must be at least 1");
    }

    /// <summary>
    /// The Vector512 kernels (default where accelerated); false runs the Vector256 ones, as on a machine without
    /// AVX-512. Every output is one accumulation in a fixed order either way, but the two widths round differently.
    /// </summary>
    public bool UseVector512
    {
        get => _useVector512;
        init => _useVector512 = !value || Vector512.IsHardwareAccelerated
            ? value
            : throw new ArgumentException("Vector512 kernels asked for, but this machine has no accelerated Vector512 (AVX-512)", nameof(UseVector512));
    }

    /// <summary>
    /// What Q8_0 and Q4_0 weights multiply (see <see cref="QuantizedActivations"/>); by default each format takes the
    /// faster kind on this machine. BF16, F16 and F32 weights ignore it.
    /// </summary>
    public QuantizedActivations Activations
    {
        get => _activations;
        init => _activations = value switch
        {
            QuantizedActivations.Int8 when !Avx2.IsSupported =>
                throw new ArgumentException("int8 activations asked for, but this machine has no AVX2", nameof(Activations)),
            QuantizedActivations.Auto or QuantizedActivations.Int8 or QuantizedActivations.Float => value,
            _ => throw new ArgumentOutOfRangeException(nameof(Activations), value, "expected Auto, Int8 or Float"),
        };
    }

    /// <summary>Whether <paramref name="format"/>'s products quantize their activations to int8 under these settings.</summary>
    public bool Int8ActivationsFor(DType format) => _activations switch
    {
        QuantizedActivations.Int8 => true,
        QuantizedActivations.Float => false,
        // Measured on this Zen 4 (random SDAR-1.7B shape, cache 512, 2 threads, ms per forward, float / int8): Q8_0
        // T = 1 64 / 63, T = 4 103 / 153, T = 16 388 / 431; Q4_0 T = 1 61 / 41, T = 4 101 / 111, T = 16 365 / 320.
        // Q8_0's integer products need a sign trick and cannot sum a group in integers (its int16 pairs are full),
        // so its float products win from T = 4 on and tie at T = 1; Q4_0's win at T = 1 and from T = 8 on.
        _ => format == DType.Q4_0 && Avx2.IsSupported,
    };
}

/// <summary>What the products of group-quantized (Q8_0, Q4_0) weights multiply.</summary>
public enum QuantizedActivations
{
    /// <summary>Per format, the faster kind here: float for Q8_0, int8 for Q4_0 (where AVX2 is; float elsewhere).</summary>
    Auto,

    /// <summary>
    /// Activations quantized to int8 per group of 32 (exact integer dot products, AVX-512BW or AVX2, as ggml multiplies
    /// Q8_0 / Q4_0 by Q8_0): a second rounding, which costs nothing measurable in accuracy on the bundled models.
    /// </summary>
    Int8,

    /// <summary>Float activations: each product equals the F32 product over the dequantized weights, bit for bit.</summary>
    Float,
}
