using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels;

/// <summary>
/// Y = X W^T for a Linear weight W (N, K) in its stored precision and float activations X (rows, K).
/// <para>
/// Batch invariance: every output Y[r, n] is one accumulator walked over K in the same order, whatever the number of
/// rows, the tile it falls in or the thread that computes it, so a sequence's numbers never depend on its batch.
/// </para>
/// <para>
/// BF16 weights are widened in registers without shuffles: a 32-bit lane holding two bf16 values gives the odd
/// element by masking the low half and the even element by shifting left 16. The activations are packed once per
/// call into the matching (evens, odds) order per chunk of 2 x lanes, so the dot product needs no permutes.
/// </para>
/// </summary>
public static unsafe class MatMul
{
    /// <summary>Whether the Vector512 kernels are used (tests turn it off to check the Vector256 fallback).</summary>
    public static bool UseVector512 { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>Worker count for the multithreaded kernels.</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    private const int TileRows = 4, TileCols = 4;

    /// <summary>y (rows, N) = x (rows, K) times w (N, K) transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(WeightTensor w, ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        int n = w.Rows, k = w.Columns;
        if (x.Length < rows * k || y.Length < rows * n) throw new ArgumentException("matmul buffers too small");
        if (rows == 0) return;
        fixed (float* xPtr = x)
        fixed (float* yPtr = y)
        {
            switch (w.DType)
            {
                case DType.BF16:
                {
                    int chunk = UseVector512 ? 32 : 16;
                    var packed = new float[rows * k];
                    fixed (float* packedPtr = packed)
                    {
                        PackEvenOdd(xPtr, packedPtr, rows, k, chunk);
                        Run(new Bf16Job((ushort*)w.Data, packedPtr, yPtr, rows, n, k, UseVector512));
                    }
                    break;
                }
                case DType.F32:
                    Run(new F32Job((float*)w.Data, xPtr, yPtr, rows, n, k, UseVector512));
                    break;
                case DType.F16:
                    Run(new F16Job((Half*)w.Data, xPtr, yPtr, rows, n, k, UseVector512));
                    break;
                default:
                    throw new NotSupportedException($"matmul over {w.DType} weights");
            }
        }
    }

    /// <summary>
    /// y (rows, N) = x (rows, K) times w (N, K) transposed, for float matrices given as spans (attention scores).
    /// Single-threaded: the caller parallelises over heads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeF32(ReadOnlySpan<float> w, int n, ReadOnlySpan<float> x, int rows, int k, Span<float> y)
    {
        fixed (float* wPtr = w)
        fixed (float* xPtr = x)
        fixed (float* yPtr = y)
        {
            var job = new F32Job(wPtr, xPtr, yPtr, rows, n, k, UseVector512);
            job.Columns(0, n);
        }
    }

    private interface IJob
    {
        int N { get; }
        int Rows { get; }
        void Columns(int start, int end);
    }

    private static void Run<TJob>(TJob job) where TJob : struct, IJob
    {
        int n = job.N;
        // Enough chunks to balance the workers, each a multiple of the column tile.
        int chunks = Math.Min(Threads * 8, (n + TileCols - 1) / TileCols);
        if (Threads <= 1 || chunks <= 1 || (long)n * job.Rows < 4096)
        {
            job.Columns(0, n);
            return;
        }
        int perChunk = ((n + chunks - 1) / chunks + TileCols - 1) / TileCols * TileCols;
        chunks = (n + perChunk - 1) / perChunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            int start = c * perChunk;
            job.Columns(start, Math.Min(n, start + perChunk));
        });
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

    // ---------------------------------------------------------------- BF16 weights

    private readonly struct Bf16Job(ushort* w, float* x, float* y, int rows, int n, int k, bool wide) : IJob
    {
        public int N => n;
        public int Rows => rows;

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
            for (int i = 0; i < vectorEnd; i += 32)
            {
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
            float* yr = y + (long)row * n + col;
            yr[0] = Vector512.Sum(a0) + Tail(col, row, vectorEnd);
            yr[1] = Vector512.Sum(a1) + Tail(col + 1, row, vectorEnd);
            yr[2] = Vector512.Sum(a2) + Tail(col + 2, row, vectorEnd);
            yr[3] = Vector512.Sum(a3) + Tail(col + 3, row, vectorEnd);
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
            for (int i = 0; i < vectorEnd; i += 32)
            {
                var v0 = Vector512.Load((uint*)(w0 + i));
                var v1 = Vector512.Load((uint*)(w1 + i));
                var v2 = Vector512.Load((uint*)(w2 + i));
                var v3 = Vector512.Load((uint*)(w3 + i));
                var e0 = (v0 << 16).AsSingle(); var e1 = (v1 << 16).AsSingle();
                var e2 = (v2 << 16).AsSingle(); var e3 = (v3 << 16).AsSingle();
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
                e0 = (v0 & mask).AsSingle(); e1 = (v1 & mask).AsSingle();
                e2 = (v2 & mask).AsSingle(); e3 = (v3 & mask).AsSingle();
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
            Store(row, col, vectorEnd, a00, a01, a02, a03);
            Store(row + 1, col, vectorEnd, a10, a11, a12, a13);
            Store(row + 2, col, vectorEnd, a20, a21, a22, a23);
            Store(row + 3, col, vectorEnd, a30, a31, a32, a33);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Store(int row, int col, int vectorEnd, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
        {
            float* yr = y + (long)row * n + col;
            yr[0] = Vector512.Sum(a0) + Tail(col, row, vectorEnd);
            yr[1] = Vector512.Sum(a1) + Tail(col + 1, row, vectorEnd);
            yr[2] = Vector512.Sum(a2) + Tail(col + 2, row, vectorEnd);
            yr[3] = Vector512.Sum(a3) + Tail(col + 3, row, vectorEnd);
        }
    }

    // ---------------------------------------------------------------- F32 weights

    private readonly struct F32Job(float* w, float* x, float* y, int rows, int n, int k, bool wide) : IJob
    {
        public int N => n;
        public int Rows => rows;

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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x4(int col, int row, int vectorEnd)
        {
            float* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
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
            Store(row, col, vectorEnd, a00, a01, a02, a03);
            Store(row + 1, col, vectorEnd, a10, a11, a12, a13);
            Store(row + 2, col, vectorEnd, a20, a21, a22, a23);
            Store(row + 3, col, vectorEnd, a30, a31, a32, a33);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Store(int row, int col, int vectorEnd, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
        {
            float* yr = y + (long)row * n + col;
            yr[0] = Vector512.Sum(a0) + Tail(col, row, vectorEnd);
            yr[1] = Vector512.Sum(a1) + Tail(col + 1, row, vectorEnd);
            yr[2] = Vector512.Sum(a2) + Tail(col + 2, row, vectorEnd);
            yr[3] = Vector512.Sum(a3) + Tail(col + 3, row, vectorEnd);
        }
    }

    // ---------------------------------------------------------------- F16 weights

    /// <summary>One F32 dot product in the same order as the F32 tiles: lanes of FMAs, a lane sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotF32(float* a, float* b, int k, int vectorEnd, bool wide)
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

    /// <summary>F16 weights: each output row is widened to float in a scratch row, then dotted like F32.</summary>
    private readonly struct F16Job(Half* w, float* x, float* y, int rows, int n, int k, bool wide) : IJob
    {
        public int N => n;
        public int Rows => rows;

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
                    for (int r = 0; r < rows; r++) y[(long)r * n + col] = DotF32(rowPtr, x + (long)r * k, k, vectorEnd, wide);
                }
            }
        }
    }
}
