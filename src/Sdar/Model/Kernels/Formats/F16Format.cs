using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// F16 weights: there is no vector fp16 conversion to lean on, so each column tile's rows are widened to float
/// element by element into scratch (<see cref="IWeightRows.WidenFromRows"/> = 1) and run through the F32 tiles:
/// results are the F32 kernel's over the widened matrix.
/// </summary>
internal sealed unsafe class F16Format : IWeightFormat
{
    public static readonly F16Format Instance = new();

    public DType DType => DType.F16;

    public long ByteLength(long rows, long columns) => rows * columns * 2;

    public float Dequantize(WeightTensor w, long index) => (float)((Half*)w.Data)[index];

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        var jobs = new TiledProduct<Rows>[products.Length];
        for (int i = 0; i < jobs.Length; i++)
            jobs[i] = new(new Rows((Half*)products[i].W.Data, k), x, (float*)products[i].Y, rows, products[i].W.Rows, k, settings.UseVector512);
        MatMul.Run(jobs, settings.Threads, done);
    }

    /// <summary>F32's chunks, widened one element at a time (only ever into the scratch rows).</summary>
    private readonly struct Rows(Half* w, int k) : IWeightRows
    {
        public static int WideChunk => 16;
        public static int NarrowChunk => 8;
        public static int WidenFromRows => 1;

        public long Row(int col) => (long)col * k;

        public (Vector512<float> First, Vector512<float> Second) Wide(long row, int c) =>
            (Vector512.Create(Narrow(row, c).First, Narrow(row, c + 8).First), default);

        public (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c)
        {
            Half* h = w + row + c;
            return (Vector256.Create((float)h[0], (float)h[1], (float)h[2], (float)h[3], (float)h[4], (float)h[5], (float)h[6], (float)h[7]), default);
        }

        public float Scalar(long row, int i) => (float)w[row + i];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(long row, int c) => System.Runtime.Intrinsics.X86.Sse.Prefetch1(w + row + c);
    }
}
