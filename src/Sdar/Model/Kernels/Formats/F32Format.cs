using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>F32 weights: loaded as they are, one vector per chunk.</summary>
internal sealed unsafe class F32Format : IWeightFormat
{
    public static readonly F32Format Instance = new();

    public DType DType => DType.F32;

    public long ByteLength(long rows, long columns) => rows * columns * 4;

    public float Dequantize(WeightTensor w, long index) => ((float*)w.Data)[index];

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        var jobs = new TiledProduct<Rows>[products.Length];
        for (int i = 0; i < jobs.Length; i++)
            jobs[i] = new(new Rows((float*)products[i].W.Data, k), x, (float*)products[i].Y, rows, products[i].W.Rows, k, settings.UseVector512);
        MatMul.Run(jobs, settings.Threads, done);
    }

    /// <summary>Rows of <paramref name="k"/> floats at <paramref name="w"/> (also the F16 kernel's widened rows).</summary>
    internal readonly struct Rows(float* w, int k) : IWeightRows
    {
        public static int WideChunk => 16;
        public static int NarrowChunk => 8;
        public static int WidenFromRows => int.MaxValue;   // already floats

        public long Row(int col) => (long)col * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> First, Vector512<float> Second) Wide(long row, int c) => (Vector512.Load(w + row + c), default);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c) => (Vector256.Load(w + row + c), default);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scalar(long row, int i) => w[row + i];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(long row, int c) => Sse.Prefetch1(w + row + c);
    }
}
