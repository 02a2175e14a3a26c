namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// One storage format of a weight matrix (N, K): how many bytes it takes, how one element dequantizes (the
/// reference the kernels are tested against), and y (rows, N) = x (rows, K) W^T over its stored bytes.
/// <para>
/// Batch invariance, every format: each output is one accumulator walked over K in the same order whatever the
/// number of rows, the tile it falls in or the worker that computes it.
/// </para>
/// </summary>
internal unsafe interface IWeightFormat
{
    DType DType { get; }

    /// <summary>Bytes of a (rows, columns) matrix, packed values and scales together.</summary>
    long ByteLength(long rows, long columns);

    /// <summary>Element <paramref name="index"/> (flat, row-major) as float.</summary>
    float Dequantize(WeightTensor w, long index);

    /// <summary>Every product's y = x W^T; all products share x (rows, k) and this format.</summary>
    /// <param name="done">Where given: the products share N, and it runs on each block of outputs once all have written it (see <see cref="MatMul.OutputsDone"/>).</param>
    void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done);
}

internal static class WeightFormats
{
    public static IWeightFormat Of(DType dtype) => dtype switch
    {
        DType.BF16 => Bf16Format.Instance,
        DType.F16 => F16Format.Instance,
        DType.F32 => F32Format.Instance,
        DType.Q8_0 => Q8Format.Instance,
        DType.Q4_0 => Q4Format.Instance,
        _ => throw new NotSupportedException($"no kernels for {dtype} weights"),
    };
}
