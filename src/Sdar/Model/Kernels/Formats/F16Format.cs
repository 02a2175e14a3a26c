using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>F16 weights: each output row is widened to float in a scratch row, then dotted like F32.</summary>
internal sealed unsafe class F16Format : IWeightFormat
{
    public static readonly F16Format Instance = new();

    public DType DType => DType.F16;

    public long ByteLength(long rows, long columns) => rows * columns * 2;

    public float Dequantize(WeightTensor w, long index) => (float)((Half*)w.Data)[index];

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        var jobs = new F16Job[products.Length];
        for (int i = 0; i < jobs.Length; i++)
            jobs[i] = new F16Job((Half*)products[i].W.Data, x, (float*)products[i].Y, rows, products[i].W.Rows, k, settings.UseVector512);
        MatMul.Run(jobs, settings.Threads);
    }

    private readonly struct F16Job(Half* w, float* x, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    {
        public int N => n;
        public int Rows => rows;
        public int K => k;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Columns(int start, int end)
        {
            int vectorEnd = k / (wide ? 16 : 8) * (wide ? 16 : 8);
            var scratch = new float[k];
            fixed (float* rowPtr = scratch)
            {
                for (int col = start; col < end; col++)
                {
                    Half* src = w + (long)col * k;
                    for (int i = 0; i < k; i++) rowPtr[i] = (float)src[i];
                    for (int r = 0; r < rows; r++) y[(long)r * n + col] = F32Format.DotF32(rowPtr, x + (long)r * k, k, vectorEnd, wide);
                }
            }
        }
    }
}
