using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Q8_0 weights: int8 values, one fp16 scale per group of 32 inputs (<see cref="QuantizedGroup"/>).
/// <para>
/// With float activations: each weight vector is widened (vpmovsxbd), converted and multiplied by its group's
/// scale in registers, then FMA'd into the output's accumulator exactly as the F32 kernel would with the
/// dequantized matrix, so every result equals the F32 kernel's over <see cref="Dequantize"/>d weights, bit for bit
/// (the tests check it).
/// </para>
/// <para>
/// With <see cref="QuantizedActivations.Int8"/> (not the default for Q8_0: slower from T = 4 on) the activations are
/// quantized too and the groups go through integer dot products (<see cref="Q8Int8Product"/>, ggml's Q8_0 x Q8_0): a
/// second rounding.
/// </para>
/// </summary>
internal sealed unsafe class Q8Format : IWeightFormat
{
    public static readonly Q8Format Instance = new();
    private const int Group = QuantizedGroup.Size;

    public DType DType => DType.Q8_0;

    public long ByteLength(long rows, long columns) => rows * columns + rows * (columns / Group) * 2;

    public float Dequantize(WeightTensor w, long index) =>
        ((sbyte*)w.Data)[index] * (float)BitConverter.UInt16BitsToHalf(w.Scales[index / Group]);

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        if (settings.Int8ActivationsFor(DType.Q8_0))
        {
            Q8Int8Product.Multiply(products, x, rows, k, settings, done);
            return;
        }
        var jobs = new TiledProduct<Rows>[products.Length];
        for (int i = 0; i < jobs.Length; i++)
        {
            var w = products[i].W;
            jobs[i] = new(new Rows((sbyte*)w.Data, w.Scales, k), x, (float*)products[i].Y, rows, w.Rows, k, settings.UseVector512);
        }
        MatMul.Run(jobs, settings.Threads, done);
    }

    /// <summary>Each vector of int8 weights widened (vpmovsxbd), converted and multiplied by its group's scale.</summary>
    private readonly struct Rows(sbyte* w, ushort* scales, int k) : IWeightRows
    {
        public static int WideChunk => Group;
        public static int NarrowChunk => 16;
        // Widening (sign-extend, convert, scale) costs about as much as the FMAs it feeds: past one tile of rows,
        // doing it once per column tile rather than once per four rows pays.
        public static int WidenFromRows => 2 * MatMul.TileRows;

        /// <summary>The row's first value; its scales start at row / 32, as every group has 32 values.</summary>
        public long Row(int col) => (long)col * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> First, Vector512<float> Second) Wide(long row, int c)
        {
            sbyte* q = w + row + c;
            var scale = Vector512.Create(QuantizedGroup.ScaleToFloat(scales[(row + c) / Group]));
            return (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q))) * scale,
                Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 16))) * scale);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c)
        {
            sbyte* q = w + row + c;
            var scale = Vector256.Create(QuantizedGroup.ScaleToFloat(scales[(row + c) / Group]));
            return (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q)) * scale,
                Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 8)) * scale);
        }

        public float Scalar(long row, int i) => w[row + i] * QuantizedGroup.ScaleToFloat(scales[(row + i) / Group]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(long row, int c) => Sse.Prefetch1(w + row + c);
    }
}
