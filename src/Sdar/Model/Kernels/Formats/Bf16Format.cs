using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// BF16 weights: widened in registers without shuffles: a 32-bit lane holding two bf16 values gives the odd
/// element by masking the low half and the even element by shifting left 16. The activations are packed once per
/// call into the matching (evens, odds) order per chunk of 2 x lanes, so the dot product needs no permutes.
/// </summary>
internal sealed unsafe class Bf16Format : IWeightFormat
{
    public static readonly Bf16Format Instance = new();
    private const int TileRows = MatMul.TileRows, TileCols = MatMul.TileCols;

    public DType DType => DType.BF16;

    public long ByteLength(long rows, long columns) => rows * columns * 2;

    public float Dequantize(WeightTensor w, long index) => Bf16ToFloat(((ushort*)w.Data)[index]);

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        bool wide = settings.UseVector512;
        int chunk = wide ? 32 : 16;
        var packed = PackBuffer(rows * k);
        fixed (float* packedPtr = packed)
        {
            PackEvenOdd(x, packedPtr, rows, k, chunk);
            var jobs = new Bf16Job[products.Length];
            for (int i = 0; i < jobs.Length; i++)
                jobs[i] = new Bf16Job((ushort*)products[i].W.Data, packedPtr, (float*)products[i].Y, rows, products[i].W.Rows, k, wide);
            MatMul.Run(jobs, settings.Threads);
        }
    }

    /// <summary>Packed activations of up to this many floats (4 MB) reuse one buffer per thread; larger ones are allocated.</summary>
    private const int ReusedPackLength = 1 << 20;

    [ThreadStatic] private static float[]? _packBuffer;

    /// <summary>
    /// Why: a forward of a small model makes ~30 products, each packing its input; allocating every pack was 3 % of a
    /// forward of sdar-mini and most of its garbage. Multiply never runs nested on one thread, so one buffer is enough.
    /// </summary>
    private static float[] PackBuffer(int length)
    {
        if (length > ReusedPackLength) return GC.AllocateUninitializedArray<float>(length);
        if (_packBuffer is { } buffer && buffer.Length >= length) return buffer;
        return _packBuffer = GC.AllocateUninitializedArray<float>(Math.Max(length, Math.Min(ReusedPackLength, 2 * (_packBuffer?.Length ?? 0))));
    }

    /// <summary>Reorders each row's chunks of <paramref name="chunk"/> values into (evens, odds); a tail stays as is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackEvenOdd(float* x, float* packed, int rows, int k, int chunk)
    {
        int half = chunk / 2, vectorEnd = k / chunk * chunk;
        for (int r = 0; r < rows; r++)
        {
            float* src = x + (long)r * k, dst = packed + (long)r * k;
            for (int c = 0; c < vectorEnd; c += chunk)
                for (int i = 0; i < half; i++)
                {
                    dst[c + i] = src[c + 2 * i];
                    dst[c + half + i] = src[c + 2 * i + 1];
                }
            for (int i = vectorEnd; i < k; i++) dst[i] = src[i];
        }
    }

    private static float Bf16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private readonly struct Bf16Job(ushort* w, float* x, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    {
        public int N => n;
        public int Rows => rows;
        public int K => k;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Columns(int start, int end)
        {
            int chunk = wide ? 32 : 16;
            int vectorEnd = k / chunk * chunk;
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
                for (; row < rows; row++) Tile1x4(col, row, vectorEnd);
            }
            for (; col < end; col++)
                for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row, vectorEnd);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Tail(int col, int row, int vectorEnd)
        {
            ushort* wr = w + (long)col * k;
            float* xr = x + (long)row * k;
            float sum = 0;
            for (int i = vectorEnd; i < k; i++) sum += Bf16ToFloat(wr[i]) * xr[i];
            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Dot(int col, int row, int vectorEnd)
        {
            ushort* wr = w + (long)col * k;
            float* xr = x + (long)row * k;
            if (wide)
            {
                var mask = Vector512.Create(0xFFFF0000u);
                var acc = Vector512<float>.Zero;
                for (int i = 0; i < vectorEnd; i += 32)
                {
                    var v = Vector512.Load((uint*)(wr + i));
                    acc = Vector512.FusedMultiplyAdd((v << 16).AsSingle(), Vector512.Load(xr + i), acc);
                    acc = Vector512.FusedMultiplyAdd((v & mask).AsSingle(), Vector512.Load(xr + i + 16), acc);
                }
                return Vector512.Sum(acc) + Tail(col, row, vectorEnd);
            }
            else
            {
                var mask = Vector256.Create(0xFFFF0000u);
                var acc = Vector256<float>.Zero;
                for (int i = 0; i < vectorEnd; i += 16)
                {
                    var v = Vector256.Load((uint*)(wr + i));
                    acc = Vector256.FusedMultiplyAdd((v << 16).AsSingle(), Vector256.Load(xr + i), acc);
                    acc = Vector256.FusedMultiplyAdd((v & mask).AsSingle(), Vector256.Load(xr + i + 8), acc);
                }
                return Vector256.Sum(acc) + Tail(col, row, vectorEnd);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile1x4(int col, int row, int vectorEnd)
        {
            if (!wide)
            {
                for (int j = 0; j < TileCols; j++) y[(long)row * n + col + j] = Dot(col + j, row, vectorEnd);
                return;
            }
            ushort* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            float* xr = x + (long)row * k;
            var mask = Vector512.Create(0xFFFF0000u);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            // The next column tile's rows follow these four in memory: fetch them ahead, so that each 4 KB row
            // (one page, where hardware prefetchers restart) is already on its way when the tile reaches it.
            ushort* ahead = w0 + 4L * k;
            for (int i = 0; i < vectorEnd; i += 32)
            {
                Sse.Prefetch0(ahead + i);
                Sse.Prefetch0(ahead + k + i);
                Sse.Prefetch0(ahead + 2 * k + i);
                Sse.Prefetch0(ahead + 3 * k + i);
                var xe = Vector512.Load(xr + i);
                var xo = Vector512.Load(xr + i + 16);
                var v0 = Vector512.Load((uint*)(w0 + i));
                var v1 = Vector512.Load((uint*)(w1 + i));
                var v2 = Vector512.Load((uint*)(w2 + i));
                var v3 = Vector512.Load((uint*)(w3 + i));
                a0 = Vector512.FusedMultiplyAdd((v0 << 16).AsSingle(), xe, a0);
                a1 = Vector512.FusedMultiplyAdd((v1 << 16).AsSingle(), xe, a1);
                a2 = Vector512.FusedMultiplyAdd((v2 << 16).AsSingle(), xe, a2);
                a3 = Vector512.FusedMultiplyAdd((v3 << 16).AsSingle(), xe, a3);
                a0 = Vector512.FusedMultiplyAdd((v0 & mask).AsSingle(), xo, a0);
                a1 = Vector512.FusedMultiplyAdd((v1 & mask).AsSingle(), xo, a1);
                a2 = Vector512.FusedMultiplyAdd((v2 & mask).AsSingle(), xo, a2);
                a3 = Vector512.FusedMultiplyAdd((v3 & mask).AsSingle(), xo, a3);
            }
            if (LaneSums.IsSupported && vectorEnd == k)
                LaneSums.Of4(a0, a1, a2, a3).Store(y + (long)row * n + col);
            else
                Store(row, col, vectorEnd, Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x4(int col, int row, int vectorEnd)
        {
            ushort* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            var mask = Vector512.Create(0xFFFF0000u);
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            ushort* ahead = w0 + 4L * k;   // the next column tile, as in Tile1x4
            for (int i = 0; i < vectorEnd; i += 32)
            {
                Sse.Prefetch0(ahead + i);
                Sse.Prefetch0(ahead + k + i);
                Sse.Prefetch0(ahead + 2 * k + i);
                Sse.Prefetch0(ahead + 3 * k + i);
                // The weights are loaded again (from L1) for the odd halves rather than kept in registers:
                // fewer live vectors keep the JIT from spilling the 16 accumulators.
                var e0 = (Vector512.Load((uint*)(w0 + i)) << 16).AsSingle();
                var e1 = (Vector512.Load((uint*)(w1 + i)) << 16).AsSingle();
                var e2 = (Vector512.Load((uint*)(w2 + i)) << 16).AsSingle();
                var e3 = (Vector512.Load((uint*)(w3 + i)) << 16).AsSingle();
                var xe = Vector512.Load(x0 + i);
                a00 = Vector512.FusedMultiplyAdd(e0, xe, a00); a01 = Vector512.FusedMultiplyAdd(e1, xe, a01);
                a02 = Vector512.FusedMultiplyAdd(e2, xe, a02); a03 = Vector512.FusedMultiplyAdd(e3, xe, a03);
                xe = Vector512.Load(x1 + i);
                a10 = Vector512.FusedMultiplyAdd(e0, xe, a10); a11 = Vector512.FusedMultiplyAdd(e1, xe, a11);
                a12 = Vector512.FusedMultiplyAdd(e2, xe, a12); a13 = Vector512.FusedMultiplyAdd(e3, xe, a13);
                xe = Vector512.Load(x2 + i);
                a20 = Vector512.FusedMultiplyAdd(e0, xe, a20); a21 = Vector512.FusedMultiplyAdd(e1, xe, a21);
                a22 = Vector512.FusedMultiplyAdd(e2, xe, a22); a23 = Vector512.FusedMultiplyAdd(e3, xe, a23);
                xe = Vector512.Load(x3 + i);
                a30 = Vector512.FusedMultiplyAdd(e0, xe, a30); a31 = Vector512.FusedMultiplyAdd(e1, xe, a31);
                a32 = Vector512.FusedMultiplyAdd(e2, xe, a32); a33 = Vector512.FusedMultiplyAdd(e3, xe, a33);
                e0 = (Vector512.Load((uint*)(w0 + i)) & mask).AsSingle();
                e1 = (Vector512.Load((uint*)(w1 + i)) & mask).AsSingle();
                e2 = (Vector512.Load((uint*)(w2 + i)) & mask).AsSingle();
                e3 = (Vector512.Load((uint*)(w3 + i)) & mask).AsSingle();
                var xo = Vector512.Load(x0 + i + 16);
                a00 = Vector512.FusedMultiplyAdd(e0, xo, a00); a01 = Vector512.FusedMultiplyAdd(e1, xo, a01);
                a02 = Vector512.FusedMultiplyAdd(e2, xo, a02); a03 = Vector512.FusedMultiplyAdd(e3, xo, a03);
                xo = Vector512.Load(x1 + i + 16);
                a10 = Vector512.FusedMultiplyAdd(e0, xo, a10); a11 = Vector512.FusedMultiplyAdd(e1, xo, a11);
                a12 = Vector512.FusedMultiplyAdd(e2, xo, a12); a13 = Vector512.FusedMultiplyAdd(e3, xo, a13);
                xo = Vector512.Load(x2 + i + 16);
                a20 = Vector512.FusedMultiplyAdd(e0, xo, a20); a21 = Vector512.FusedMultiplyAdd(e1, xo, a21);
                a22 = Vector512.FusedMultiplyAdd(e2, xo, a22); a23 = Vector512.FusedMultiplyAdd(e3, xo, a23);
                xo = Vector512.Load(x3 + i + 16);
                a30 = Vector512.FusedMultiplyAdd(e0, xo, a30); a31 = Vector512.FusedMultiplyAdd(e1, xo, a31);
                a32 = Vector512.FusedMultiplyAdd(e2, xo, a32); a33 = Vector512.FusedMultiplyAdd(e3, xo, a33);
            }
            if (LaneSums.IsSupported && vectorEnd == k)
            {
                StoreTile(row, col, LaneSums.Of16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33));
                return;
            }
            // Lane sums first: no call may happen while the 16 accumulators are live, or the JIT spills them
            // to the stack on every iteration of the loop above.
            float s00 = Vector512.Sum(a00), s01 = Vector512.Sum(a01), s02 = Vector512.Sum(a02), s03 = Vector512.Sum(a03);
            float s10 = Vector512.Sum(a10), s11 = Vector512.Sum(a11), s12 = Vector512.Sum(a12), s13 = Vector512.Sum(a13);
            float s20 = Vector512.Sum(a20), s21 = Vector512.Sum(a21), s22 = Vector512.Sum(a22), s23 = Vector512.Sum(a23);
            float s30 = Vector512.Sum(a30), s31 = Vector512.Sum(a31), s32 = Vector512.Sum(a32), s33 = Vector512.Sum(a33);
            Store(row, col, vectorEnd, s00, s01, s02, s03);
            Store(row + 1, col, vectorEnd, s10, s11, s12, s13);
            Store(row + 2, col, vectorEnd, s20, s21, s22, s23);
            Store(row + 3, col, vectorEnd, s30, s31, s32, s33);
        }

        /// <summary>
        /// The Vector256 tile (machines without AVX-512): 4 rows x 2 columns, 8 accumulators, each output the same
        /// FMA chain as <see cref="Dot"/> (even half, then odd half, per 16 values), so results are bit-identical to
        /// the per-output path while each weight load serves four rows.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x2Narrow(int col, int row, int vectorEnd)
        {
            ushort* w0 = w + (long)col * k, w1 = w0 + k;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            var mask = Vector256.Create(0xFFFF0000u);
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int i = 0; i < vectorEnd; i += 16)
            {
                var v0 = Vector256.Load((uint*)(w0 + i));
                var v1 = Vector256.Load((uint*)(w1 + i));
                var e0 = (v0 << 16).AsSingle();
                var e1 = (v1 << 16).AsSingle();
                var xe = Vector256.Load(x0 + i);
                a00 = Vector256.FusedMultiplyAdd(e0, xe, a00); a01 = Vector256.FusedMultiplyAdd(e1, xe, a01);
                xe = Vector256.Load(x1 + i);
                a10 = Vector256.FusedMultiplyAdd(e0, xe, a10); a11 = Vector256.FusedMultiplyAdd(e1, xe, a11);
                xe = Vector256.Load(x2 + i);
                a20 = Vector256.FusedMultiplyAdd(e0, xe, a20); a21 = Vector256.FusedMultiplyAdd(e1, xe, a21);
                xe = Vector256.Load(x3 + i);
                a30 = Vector256.FusedMultiplyAdd(e0, xe, a30); a31 = Vector256.FusedMultiplyAdd(e1, xe, a31);
                var o0 = (v0 & mask).AsSingle();
                var o1 = (v1 & mask).AsSingle();
                var xo = Vector256.Load(x0 + i + 8);
                a00 = Vector256.FusedMultiplyAdd(o0, xo, a00); a01 = Vector256.FusedMultiplyAdd(o1, xo, a01);
                xo = Vector256.Load(x1 + i + 8);
                a10 = Vector256.FusedMultiplyAdd(o0, xo, a10); a11 = Vector256.FusedMultiplyAdd(o1, xo, a11);
                xo = Vector256.Load(x2 + i + 8);
                a20 = Vector256.FusedMultiplyAdd(o0, xo, a20); a21 = Vector256.FusedMultiplyAdd(o1, xo, a21);
                xo = Vector256.Load(x3 + i + 8);
                a30 = Vector256.FusedMultiplyAdd(o0, xo, a30); a31 = Vector256.FusedMultiplyAdd(o1, xo, a31);
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

        /// <summary>A 4 x 4 tile of outputs, lanes in (row, column) order, into rows row..row+3 at column col.</summary>
        private void StoreTile(int row, int col, Vector512<float> sums)
        {
            float* yr = y + (long)row * n + col;
            sums.GetLower().GetLower().Store(yr);
            sums.GetLower().GetUpper().Store(yr + n);
            sums.GetUpper().GetLower().Store(yr + 2L * n);
            sums.GetUpper().GetUpper().Store(yr + 3L * n);
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
}
