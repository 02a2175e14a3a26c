using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels;

/// <summary>
/// What a model's kernels run with: the number of workers and the vector width. Each <see cref="FastModel"/> holds
/// its own (nothing process-wide), so two models, or two tests, can run side by side with different settings.
/// </summary>
public sealed record KernelSettings
{
    /// <summary>All cores, and the Vector512 kernels where the hardware has them.</summary>
    public static KernelSettings Default { get; } = new();

    private readonly int _threads = Environment.ProcessorCount;
    private readonly bool _useVector512 = Vector512.IsHardwareAccelerated;
    private readonly bool _int8Activations = Avx2.IsSupported;

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
    /// Q8_0 and Q4_0 weights multiply activations quantized to int8 per group of 32 (exact integer dot products,
    /// AVX-512BW or AVX2, as ggml multiplies Q8_0 / Q4_0 by Q8_0) rather than float activations: a second rounding,
    /// which measured here costs nothing in accuracy on the bundled models and takes a quarter (Q4_0) to a tenth
    /// (Q8_0) off a T = 1 forward. Default where AVX2 is (every AVX-512 machine); false multiplies float activations,
    /// so that each product equals the F32 product over the dequantized weights. Results agree between the Vector512
    /// and Vector256 kernels bit for bit either way, and never depend on the batch. BF16, F16 and F32 weights ignore it.
    /// </summary>
    public bool Int8Activations
    {
        get => _int8Activations;
        init => _int8Activations = !value || Avx2.IsSupported
            ? value
            : throw new ArgumentException("int8 activations asked for, but this machine has no AVX2", nameof(Int8Activations));
    }
}
