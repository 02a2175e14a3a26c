using System.Runtime.CompilerServices;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// F16 weights: each column tile's rows are widened to float in a scratch block (there is no vector fp16 conversion
/// to lean on), then run through the F32 tiles, so results are the F32 kernel's over the widened matrix.
/// </summary>
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
            var scratch = GC.AllocateUninitializedArray<float>(MatMul.TileCols * k, pinned: true);
            fixed (float* block = scratch)
            {
                for (int col = start; col < end; col += MatMul.TileCols)
                {
                    int count = Math.Min(MatMul.TileCols, end - col);
                    Half* src = w + (long)col * k;
                    for (long i = 0; i < (long)count * k; i++) block[i] = (float)src[i];
                    // The block holds rows col .. col + count - 1: seen from the tiles, its base is row 0's.
                    var widened = new F32Format.Rows(block - (long)col * k, k);
                    new TiledProduct<F32Format.Rows>(widened, x, y, rows, n, k, wide).Columns(col, col + count);
                }
            }
        }
    }
}
