using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>F32 weights: lanes of FMAs per output, in 4 x 4 (Vector512) or 4 x 2 (Vector256) register tiles.</summary>
internal sealed unsafe class F32Format : IWeightFormat
{
    public static readonly F32Format Instance = new();
    private const int TileRows = MatMul.TileRows, TileCols = MatMul.TileCols;

    public DType DType => DType.F32;

    public long ByteLength(long rows, long columns) => rows * columns * 4;

    public float Dequantize(WeightTensor w, long index) => ((float*)w.Data)[index];

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        var jobs = new F32Job[products.Length];
        for (int i = 0; i < jobs.Length; i++)
            jobs[i] = new F32Job((float*)products[i].W.Data, x, (float*)products[i].Y, rows, products[i].W.Rows, k, settings.UseVector512);
        MatMul.Run(jobs, settings.Threads);
    }

    internal readonly struct F32Job(float* w, float* x, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    {
        public int N => n;
        public int Rows => rows;
        public int K => k;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Columns(int start, int end)
        {
            int lanes = wide ? 16 : 8;
            int vectorEnd = k / lanes * lanes;
            int col = start;
            for (; col + TileCols <= end; col += TileCols)
            {
                int row = 0;
                if (wide)
                    for (; row + TileRows <= rows; row += TileRows) Tile4x4(col, row, vectorEnd);
                else
                    for (; row + TileRows <= rows; row += TileRows)
                    {
                        Tile4x2Narrow(col, row, vectorEnd);
                        Tile4x2Narrow(col + 2, row, vectorEnd);
                    }
                for (; row < rows; row++)
                    for (int j = 0; j < TileCols; j++) y[(long)row * n + col + j] = Dot(col + j, row, vectorEnd);
            }
            for (; col < end; col++)
                for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row, vectorEnd);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Tail(int col, int row, int vectorEnd)
        {
            float* wr = w + (long)col * k, xr = x + (long)row * k;
            float sum = 0;
            for (int i = vectorEnd; i < k; i++) sum += wr[i] * xr[i];
            return sum;
        }

        private float Dot(int col, int row, int vectorEnd) => DotF32(w + (long)col * k, x + (long)row * k, k, vectorEnd, wide);

        /// <summary>The Vector256 4 x 2 tile; each output is <see cref="DotF32"/>'s FMA chain, so results are bit-identical.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x2Narrow(int col, int row, int vectorEnd)
        {
            float* w0 = w + (long)col * k, w1 = w0 + k;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int i = 0; i < vectorEnd; i += 8)
            {
                var e0 = Vector256.Load(w0 + i);
                var e1 = Vector256.Load(w1 + i);
                var xv = Vector256.Load(x0 + i);
                a00 = Vector256.FusedMultiplyAdd(e0, xv, a00); a01 = Vector256.FusedMultiplyAdd(e1, xv, a01);
                xv = Vector256.Load(x1 + i);
                a10 = Vector256.FusedMultiplyAdd(e0, xv, a10); a11 = Vector256.FusedMultiplyAdd(e1, xv, a11);
                xv = Vector256.Load(x2 + i);
                a20 = Vector256.FusedMultiplyAdd(e0, xv, a20); a21 = Vector256.FusedMultiplyAdd(e1, xv, a21);
                xv = Vector256.Load(x3 + i);
                a30 = Vector256.FusedMultiplyAdd(e0, xv, a30); a31 = Vector256.FusedMultiplyAdd(e1, xv, a31);
            }
            float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11);
            float s20 = Vector256.Sum(a20), s21 = Vector256.Sum(a21), s30 = Vector256.Sum(a30), s31 = Vector256.Sum(a31);
            Store2(row, col, vectorEnd, s00, s01);
            Store2(row + 1, col, vectorEnd, s10, s11);
            Store2(row + 2, col, vectorEnd, s20, s21);
            Store2(row + 3, col, vectorEnd, s30, s31);
        }

        private void Store2(int row, int col, int vectorEnd, float s0, float s1)
        {
            float* yr = y + (long)row * n + col;
            if (vectorEnd == k)
            {
                yr[0] = s0; yr[1] = s1;
                return;
            }
            yr[0] = s0 + Tail(col, row, vectorEnd);
            yr[1] = s1 + Tail(col + 1, row, vectorEnd);
        }

        private void Tile4x4(int col, int row, int vectorEnd)
        {
            float* sums = stackalloc float[16];
            Dot4x4(w + (long)col * k, x + (long)row * k, k, vectorEnd, sums);
            Store(row, col, vectorEnd, sums[0], sums[1], sums[2], sums[3]);
            Store(row + 1, col, vectorEnd, sums[4], sums[5], sums[6], sums[7]);
            Store(row + 2, col, vectorEnd, sums[8], sums[9], sums[10], sums[11]);
            Store(row + 3, col, vectorEnd, sums[12], sums[13], sums[14], sums[15]);
        }

        private void Store(int row, int col, int vectorEnd, float s0, float s1, float s2, float s3)
        {
            float* yr = y + (long)row * n + col;
            if (vectorEnd == k)
            {
                yr[0] = s0; yr[1] = s1; yr[2] = s2; yr[3] = s3;
                return;
            }
            yr[0] = s0 + Tail(col, row, vectorEnd);
            yr[1] = s1 + Tail(col + 1, row, vectorEnd);
            yr[2] = s2 + Tail(col + 2, row, vectorEnd);
            yr[3] = s3 + Tail(col + 3, row, vectorEnd);
        }
    }

    /// <summary>
    /// The F32 4x4 tile: sums[r * 4 + c] = dot(x row r, w row c) over the first <paramref name="vectorEnd"/> values,
    /// one FMA chain per output in 16-lane steps, then a lane sum. Rows of both are <paramref name="k"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4(float* w0, float* x0, int k, int vectorEnd, float* sums)
    {
        float* w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        float* x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int i = 0; i < vectorEnd; i += 16)
        {
            var e0 = Vector512.Load(w0 + i); var e1 = Vector512.Load(w1 + i);
            var e2 = Vector512.Load(w2 + i); var e3 = Vector512.Load(w3 + i);
            var xv = Vector512.Load(x0 + i);
            a00 = Vector512.FusedMultiplyAdd(e0, xv, a00); a01 = Vector512.FusedMultiplyAdd(e1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(e2, xv, a02); a03 = Vector512.FusedMultiplyAdd(e3, xv, a03);
            xv = Vector512.Load(x1 + i);
            a10 = Vector512.FusedMultiplyAdd(e0, xv, a10); a11 = Vector512.FusedMultiplyAdd(e1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(e2, xv, a12); a13 = Vector512.FusedMultiplyAdd(e3, xv, a13);
            xv = Vector512.Load(x2 + i);
            a20 = Vector512.FusedMultiplyAdd(e0, xv, a20); a21 = Vector512.FusedMultiplyAdd(e1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(e2, xv, a22); a23 = Vector512.FusedMultiplyAdd(e3, xv, a23);
            xv = Vector512.Load(x3 + i);
            a30 = Vector512.FusedMultiplyAdd(e0, xv, a30); a31 = Vector512.FusedMultiplyAdd(e1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(e2, xv, a32); a33 = Vector512.FusedMultiplyAdd(e3, xv, a33);
        }
        if (LaneSums.IsSupported)
        {
            LaneSums.Of16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33).Store(sums);
            return;
        }
        sums[0] = Vector512.Sum(a00); sums[1] = Vector512.Sum(a01); sums[2] = Vector512.Sum(a02); sums[3] = Vector512.Sum(a03);
        sums[4] = Vector512.Sum(a10); sums[5] = Vector512.Sum(a11); sums[6] = Vector512.Sum(a12); sums[7] = Vector512.Sum(a13);
        sums[8] = Vector512.Sum(a20); sums[9] = Vector512.Sum(a21); sums[10] = Vector512.Sum(a22); sums[11] = Vector512.Sum(a23);
        sums[12] = Vector512.Sum(a30); sums[13] = Vector512.Sum(a31); sums[14] = Vector512.Sum(a32); sums[15] = Vector512.Sum(a33);
    }

    // ---------------------------------------------------------------- F16 weights

    /// <summary>One F32 dot product in the same order as the F32 tiles: lanes of FMAs, a lane sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotF32(float* a, float* b, int k, int vectorEnd, bool wide)
    {
        float tail = 0;
        for (int i = vectorEnd; i < k; i++) tail += a[i] * b[i];
        if (wide)
        {
            var acc = Vector512<float>.Zero;
            for (int i = 0; i < vectorEnd; i += 16)
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
            return Vector512.Sum(acc) + tail;
        }
        else
        {
            var acc = Vector256<float>.Zero;
            for (int i = 0; i < vectorEnd; i += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            return Vector256.Sum(acc) + tail;
        }
    }
}
