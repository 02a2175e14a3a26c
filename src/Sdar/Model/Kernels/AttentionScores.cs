using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels;

/// <summary>
/// Attention scores, (queries, keys) = q k^T, with the keys in <see cref="KeyTiles"/> (dimension d of 16 consecutive
/// keys side by side), for any number of query rows and keys.
/// <para>
/// Why this layout: with keys in rows, a score is a dot product along head_dim that ends in a lane sum, and at
/// head_dim 64 a 4 x 4 tile runs only 4 steps of FMAs before its 16 lane sums (they cost as much again; the scores ran
/// at about half the FMA peak, measured). With tiles, the lanes are keys: one step is a load of dimension d of the
/// keys and a broadcast of the query's dimension d, and a score is finished when the loop over head_dim is, with
/// nothing to sum across lanes. Four query rows by 32 keys (8 accumulators, 2 loads and 4 broadcasts per 8 FMAs)
/// ran at 98 % of one core's FMA peak against 54 % for the row-major tiles.
/// </para>
/// <para>
/// Same numbers everywhere: every score is the one chain s = fma(k[d], q[d], s) for d = 0, 1, ..., head_dim - 1 from
/// s = 0, in every kernel below, at either vector width (a lane does the same FMAs as a scalar loop would), for cached
/// keys and this forward's alike. So scores never depend on the batch, the query rows around them, how the keys are
/// split into runs, or the machine's vector width.
/// </para>
/// </summary>
internal static unsafe class AttentionScores
{
    private const int Tile = KeyTiles.Width;

    /// <param name="keys">The run's keys in tiles of 16 (the last tile padded to whole tiles: its extra lanes are read, never stored).</param>
    /// <param name="queries">(queryCount, hd) query rows.</param>
    /// <param name="scores">(queryCount, keyCount) result, rows <paramref name="scoreStride"/> floats apart.</param>
    /// <param name="useVector512">Vector512 (16 keys per vector) or Vector256 (8): the same bits either way.</param>
    public static void Compute(float* keys, int keyCount, float* queries, int queryCount, int hd, float* scores, int scoreStride, bool useVector512)
    {
        if (keyCount <= 0 || queryCount <= 0) return;
        if (useVector512) Compute<Vector512<float>, Lanes512>(keys, keyCount, queries, queryCount, hd, scores, scoreStride);
        else Compute<Vector256<float>, Lanes256>(keys, keyCount, queries, queryCount, hd, scores, scoreStride);
    }

    /// <summary>Query rows four at a time against key vectors two at a time; two rows left over (AR decoding, where a KV head
    /// has 2 query heads in Qwen3-0.6B / 1.7B and the bundled models) together against four, so each key is loaded once
    /// for both; a last row alone against four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute<TV, TL>(float* keys, int keyCount, float* queries, int queryCount, int hd, float* scores, int scoreStride)
        where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        int lanes = TL.Count, vectors = (keyCount + lanes - 1) / lanes;
        int row = 0;
        for (; row + 4 <= queryCount; row += 4)
        {
            float* q = queries + (long)row * hd, s = scores + (long)row * scoreStride;
            int v = 0;
            for (; v + 2 <= vectors; v += 2) Rows4Vectors2<TV, TL>(keys, v, q, hd, s, scoreStride, keyCount);
            for (; v < vectors; v++)
                for (int i = 0; i < 4; i++) Rows1Vectors1<TV, TL>(keys, v, q + i * hd, hd, s + (long)i * scoreStride, keyCount);
        }
        if (row + 2 <= queryCount)
        {
            float* q = queries + (long)row * hd, s = scores + (long)row * scoreStride;
            int v = 0;
            for (; v + 4 <= vectors; v += 4) Rows2Vectors4<TV, TL>(keys, v, q, hd, s, scoreStride, keyCount);
            for (; v < vectors; v++)
                for (int i = 0; i < 2; i++) Rows1Vectors1<TV, TL>(keys, v, q + i * hd, hd, s + (long)i * scoreStride, keyCount);
            row += 2;
        }
        for (; row < queryCount; row++)
        {
            float* q = queries + (long)row * hd, s = scores + (long)row * scoreStride;
            int v = 0;
            for (; v + 4 <= vectors; v += 4) Rows1Vectors4<TV, TL>(keys, v, q, hd, s, keyCount);
            for (; v < vectors; v++) Rows1Vectors1<TV, TL>(keys, v, q, hd, s, keyCount);
        }
    }

    /// <summary>Where key vector <paramref name="v"/> (keys v * lanes ..) starts: dimension d is 16 floats further per d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* VectorStart<TV, TL>(float* keys, int v, int hd) where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        int first = v * TL.Count;
        return keys + (long)(first / Tile) * Tile * hd + first % Tile;
    }

    /// <summary>
    /// Where the kernels store a tile whose last vector runs past the run's keys: its lanes there hold the padding's
    /// scores, and the score row goes on with the next run's columns (or the next row), so only the real keys are
    /// copied out. (Into memory first, and copied after: a call while the accumulators are live makes the JIT keep
    /// them on the stack through the whole loop.)
    /// </summary>
    private const int SpillFloats = 8 * 16;

    /// <summary>Copies <paramref name="rows"/> rows of <paramref name="width"/> spilled scores, the first <paramref name="count"/> of each, into the score rows.</summary>
    private static void CopyPartial(float* spill, int rows, int width, int count, float* s, int stride)
    {
        for (int i = 0; i < rows; i++)
            new ReadOnlySpan<float>(spill + i * width, count).CopyTo(new Span<float>(s + (long)i * stride, count));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rows4Vectors2<TV, TL>(float* keys, int v, float* q, int hd, float* s, int stride, int keyCount)
        where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        float* spill = stackalloc float[SpillFloats];
        int lanes = TL.Count, first = v * lanes;
        float* k0 = VectorStart<TV, TL>(keys, v, hd), k1 = VectorStart<TV, TL>(keys, v + 1, hd);
        float* q0 = q, q1 = q + hd, q2 = q1 + hd, q3 = q2 + hd;
        TV a00 = TL.Zero, a01 = TL.Zero, a10 = TL.Zero, a11 = TL.Zero, a20 = TL.Zero, a21 = TL.Zero, a30 = TL.Zero, a31 = TL.Zero;
        for (int d = 0; d < hd; d++)
        {
            var x0 = TL.Load(k0 + d * Tile);
            var x1 = TL.Load(k1 + d * Tile);
            var b = TL.Broadcast(q0[d]);
            a00 = TL.Fma(x0, b, a00); a01 = TL.Fma(x1, b, a01);
            b = TL.Broadcast(q1[d]);
            a10 = TL.Fma(x0, b, a10); a11 = TL.Fma(x1, b, a11);
            b = TL.Broadcast(q2[d]);
            a20 = TL.Fma(x0, b, a20); a21 = TL.Fma(x1, b, a21);
            b = TL.Broadcast(q3[d]);
            a30 = TL.Fma(x0, b, a30); a31 = TL.Fma(x1, b, a31);
        }
        bool whole = first + 2 * lanes <= keyCount;
        float* o = whole ? s + first : spill;
        int step = whole ? stride : 2 * lanes;
        TL.Store(a00, o); TL.Store(a01, o + lanes);
        o += step;
        TL.Store(a10, o); TL.Store(a11, o + lanes);
        o += step;
        TL.Store(a20, o); TL.Store(a21, o + lanes);
        o += step;
        TL.Store(a30, o); TL.Store(a31, o + lanes);
        if (!whole) CopyPartial(spill, 4, 2 * lanes, keyCount - first, s + first, stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rows2Vectors4<TV, TL>(float* keys, int v, float* q, int hd, float* s, int stride, int keyCount)
        where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        float* spill = stackalloc float[SpillFloats];
        int lanes = TL.Count, first = v * lanes;
        float* k0 = VectorStart<TV, TL>(keys, v, hd), k1 = VectorStart<TV, TL>(keys, v + 1, hd);
        float* k2 = VectorStart<TV, TL>(keys, v + 2, hd), k3 = VectorStart<TV, TL>(keys, v + 3, hd);
        float* q0 = q, q1 = q + hd;
        TV a00 = TL.Zero, a01 = TL.Zero, a02 = TL.Zero, a03 = TL.Zero, a10 = TL.Zero, a11 = TL.Zero, a12 = TL.Zero, a13 = TL.Zero;
        for (int d = 0; d < hd; d++)
        {
            var x0 = TL.Load(k0 + d * Tile);
            var x1 = TL.Load(k1 + d * Tile);
            var x2 = TL.Load(k2 + d * Tile);
            var x3 = TL.Load(k3 + d * Tile);
            var b = TL.Broadcast(q0[d]);
            a00 = TL.Fma(x0, b, a00); a01 = TL.Fma(x1, b, a01); a02 = TL.Fma(x2, b, a02); a03 = TL.Fma(x3, b, a03);
            b = TL.Broadcast(q1[d]);
            a10 = TL.Fma(x0, b, a10); a11 = TL.Fma(x1, b, a11); a12 = TL.Fma(x2, b, a12); a13 = TL.Fma(x3, b, a13);
        }
        bool whole = first + 4 * lanes <= keyCount;
        float* o = whole ? s + first : spill;
        int step = whole ? stride : 4 * lanes;
        TL.Store(a00, o); TL.Store(a01, o + lanes); TL.Store(a02, o + 2 * lanes); TL.Store(a03, o + 3 * lanes);
        o += step;
        TL.Store(a10, o); TL.Store(a11, o + lanes); TL.Store(a12, o + 2 * lanes); TL.Store(a13, o + 3 * lanes);
        if (!whole) CopyPartial(spill, 2, 4 * lanes, keyCount - first, s + first, stride);
    }

    /// <summary>The last query row alone against four key vectors: four chains in flight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rows1Vectors4<TV, TL>(float* keys, int v, float* q, int hd, float* s, int keyCount)
        where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        float* spill = stackalloc float[SpillFloats];
        int lanes = TL.Count, first = v * lanes;
        float* k0 = VectorStart<TV, TL>(keys, v, hd), k1 = VectorStart<TV, TL>(keys, v + 1, hd);
        float* k2 = VectorStart<TV, TL>(keys, v + 2, hd), k3 = VectorStart<TV, TL>(keys, v + 3, hd);
        TV a0 = TL.Zero, a1 = TL.Zero, a2 = TL.Zero, a3 = TL.Zero;
        for (int d = 0; d < hd; d++)
        {
            var b = TL.Broadcast(q[d]);
            a0 = TL.Fma(TL.Load(k0 + d * Tile), b, a0);
            a1 = TL.Fma(TL.Load(k1 + d * Tile), b, a1);
            a2 = TL.Fma(TL.Load(k2 + d * Tile), b, a2);
            a3 = TL.Fma(TL.Load(k3 + d * Tile), b, a3);
        }
        bool whole = first + 4 * lanes <= keyCount;
        float* o = whole ? s + first : spill;
        TL.Store(a0, o); TL.Store(a1, o + lanes); TL.Store(a2, o + 2 * lanes); TL.Store(a3, o + 3 * lanes);
        if (!whole) CopyPartial(spill, 1, 4 * lanes, keyCount - first, s + first, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rows1Vectors1<TV, TL>(float* keys, int v, float* q, int hd, float* s, int keyCount)
        where TV : unmanaged where TL : struct, IFloatLanes<TV>
    {
        float* spill = stackalloc float[SpillFloats];
        int lanes = TL.Count, first = v * lanes;
        float* k = VectorStart<TV, TL>(keys, v, hd);
        TV a = TL.Zero;
        for (int d = 0; d < hd; d++) a = TL.Fma(TL.Load(k + d * Tile), TL.Broadcast(q[d]), a);
        bool whole = first + lanes <= keyCount;
        TL.Store(a, whole ? s + first : spill);
        if (!whole) CopyPartial(spill, 1, lanes, keyCount - first, s + first, 0);
    }

    /// <summary>The vector operations the kernels need, at one width: structs, so each width compiles its own kernels with these inlined.</summary>
    private interface IFloatLanes<TV> where TV : unmanaged
    {
        static abstract int Count { get; }
        static abstract TV Zero { get; }
        static abstract TV Load(float* source);
        static abstract TV Broadcast(float value);
        static abstract TV Fma(TV a, TV b, TV addend);
        static abstract void Store(TV value, float* destination);
    }

    private readonly struct Lanes512 : IFloatLanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        public static Vector512<float> Zero => Vector512<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* source) => Vector512.Load(source);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.FusedMultiplyAdd(a, b, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, float* destination) => value.Store(destination);
    }

    private readonly struct Lanes256 : IFloatLanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        public static Vector256<float> Zero => Vector256<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* source) => Vector256.Load(source);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.FusedMultiplyAdd(a, b, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, float* destination) => value.Store(destination);
    }
}
