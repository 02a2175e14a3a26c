using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels;

/// <summary>
/// The second half of attention: out[q, :] = sum over keys j of p[q, j] * v[j, :], with v the (keys, head_dim)
/// value rows as the cache stores them. Tiles of 4 queries x 64 dims keep 16 accumulators in registers, so each value
/// row is loaded once per 4 queries (once per 2 for a pair left over); every output is one FMA chain over j in key
/// order, whatever the tile.
/// </summary>
public static unsafe class WeightedValues
{
    /// <param name="p">(queries, keys) probabilities, row-major.</param>
    /// <param name="visible">per query, how many keys (a prefix) it sees; later probabilities are ignored.</param>
    /// <param name="v">(keys, hd) value rows.</param>
    /// <param name="output">(queries, hd) result rows, each at <paramref name="outputStride"/>.</param>
    public static void Compute(float* p, int queries, int keys, int* visible, float* v, int hd, float* output, int outputStride) =>
        Compute(p, queries, keys, 0, keys, visible, v, hd, output, outputStride, accumulate: false);

    /// <summary>
    /// The same over one run of keys, firstKey .. firstKey + runKeys - 1, whose value rows <paramref name="v"/> holds
    /// (the run's first row first): the keys of a paged cache, one page at a time, read where they are stored. With
    /// <paramref name="accumulate"/> each output's chain continues from what <paramref name="output"/> holds (the
    /// runs before, stored and loaded exactly), so runs in key order give the bits of one call over all keys.
    /// </summary>
    /// <param name="p">(queries, keys) probabilities of all keys, row-major, <paramref name="keys"/> per row.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(float* p, int queries, int keys, int firstKey, int runKeys, int* visible, float* v, int hd,
        float* output, int outputStride, bool accumulate)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        float* run = p + firstKey;
        int q = 0;
        for (; q + 4 <= queries; q += 4)
        {
            int end = Math.Max(Math.Max(visible[q], visible[q + 1]), Math.Max(visible[q + 2], visible[q + 3]));
            end = Math.Clamp(end - firstKey, 0, runKeys);
            if (end == 0 && accumulate) continue;   // nothing of this run is seen: the sums stay as they are
            int d = 0;
            if (wide)
                for (; d + 64 <= hd; d += 64) Tile4x64(run + (long)q * keys, keys, end, v, hd, d, output + (long)q * outputStride, outputStride, accumulate);
            else
                for (; d + 16 <= hd; d += 16) Tile4x16Narrow(run + (long)q * keys, keys, end, v, hd, d, output + (long)q * outputStride, outputStride, accumulate);
            for (; d < hd; d++)
                for (int r = 0; r < 4; r++)
                {
                    float* o = output + (long)(q + r) * outputStride + d;
                    *o = Scalar(run + (long)(q + r) * keys, end, v, hd, d, accumulate ? *o : 0);
                }
        }
        if (wide && q + 2 <= queries)
        {
            // Two queries left over (AR decoding at two query heads per KV head): each value row loaded once for both.
            int end = Math.Clamp(Math.Max(visible[q], visible[q + 1]) - firstKey, 0, runKeys);
            if (end > 0 || !accumulate)
            {
                int d = 0;
                for (; d + 64 <= hd; d += 64) Tile2x64(run + (long)q * keys, keys, end, v, hd, d, output + (long)q * outputStride, outputStride, accumulate);
                for (; d < hd; d++)
                    for (int r = 0; r < 2; r++)
                    {
                        float* o = output + (long)(q + r) * outputStride + d;
                        *o = Scalar(run + (long)(q + r) * keys, end, v, hd, d, accumulate ? *o : 0);
                    }
            }
            q += 2;
        }
        for (; q < queries; q++)
        {
            int end = Math.Clamp(visible[q] - firstKey, 0, runKeys);
            if (end == 0 && accumulate) continue;
            int d = 0;
            if (wide)
                for (; d + 64 <= hd; d += 64) Tile1x64(run + (long)q * keys, end, v, hd, d, output + (long)q * outputStride, accumulate);
            else
                for (; d + 16 <= hd; d += 16) Tile1x16Narrow(run + (long)q * keys, end, v, hd, d, output + (long)q * outputStride, accumulate);
            for (; d < hd; d++)
            {
                float* o = output + (long)q * outputStride + d;
                *o = Scalar(run + (long)q * keys, end, v, hd, d, accumulate ? *o : 0);
            }
        }
    }

    // Probabilities past a query's visible prefix are zero (the caller clears them), so a tile may run to the
    // largest prefix of its queries: adding 0 * v leaves every sum exactly as the scalar path computes it.
    private static float Scalar(float* p, int end, float* v, int hd, int d, float acc)
    {
        for (int j = 0; j < end; j++) acc = MathF.FusedMultiplyAdd(p[j], v[(long)j * hd + d], acc);
        return acc;
    }

    /// <summary>Accumulators start from <paramref name="output"/> (a run after the first) or from zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Start(float* output, bool accumulate) => accumulate ? Vector512.Load(output) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Start256(float* output, bool accumulate) => accumulate ? Vector256.Load(output) : default;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x64(float* p, int end, float* v, int hd, int d, float* output, bool accumulate)
    {
        float* o = output + d;
        Vector512<float> a0 = Start(o, accumulate), a1 = Start(o + 16, accumulate), a2 = Start(o + 32, accumulate), a3 = Start(o + 48, accumulate);
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var w = Vector512.Create(p[j]);
            a0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row), a0);
            a1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 48), a3);
        }
        a0.Store(o); a1.Store(o + 16); a2.Store(o + 32); a3.Store(o + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x64(float* p, int keys, int end, float* v, int hd, int d, float* output, int stride, bool accumulate)
    {
        float* o0 = output + d, o1 = o0 + stride;
        Vector512<float> a00 = Start(o0, accumulate), a01 = Start(o0 + 16, accumulate), a02 = Start(o0 + 32, accumulate), a03 = Start(o0 + 48, accumulate);
        Vector512<float> a10 = Start(o1, accumulate), a11 = Start(o1 + 16, accumulate), a12 = Start(o1 + 32, accumulate), a13 = Start(o1 + 48, accumulate);
        float* p0 = p, p1 = p + keys;
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var v0 = Vector512.Load(row); var v1 = Vector512.Load(row + 16);
            var v2 = Vector512.Load(row + 32); var v3 = Vector512.Load(row + 48);
            var w = Vector512.Create(p0[j]);
            a00 = Vector512.FusedMultiplyAdd(w, v0, a00); a01 = Vector512.FusedMultiplyAdd(w, v1, a01);
            a02 = Vector512.FusedMultiplyAdd(w, v2, a02); a03 = Vector512.FusedMultiplyAdd(w, v3, a03);
            w = Vector512.Create(p1[j]);
            a10 = Vector512.FusedMultiplyAdd(w, v0, a10); a11 = Vector512.FusedMultiplyAdd(w, v1, a11);
            a12 = Vector512.FusedMultiplyAdd(w, v2, a12); a13 = Vector512.FusedMultiplyAdd(w, v3, a13);
        }
        a00.Store(o0); a01.Store(o0 + 16); a02.Store(o0 + 32); a03.Store(o0 + 48);
        a10.Store(o1); a11.Store(o1 + 16); a12.Store(o1 + 32); a13.Store(o1 + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x64(float* p, int keys, int end, float* v, int hd, int d, float* output, int stride, bool accumulate)
    {
        float* o0 = output + d, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
        Vector512<float> a00 = Start(o0, accumulate), a01 = Start(o0 + 16, accumulate), a02 = Start(o0 + 32, accumulate), a03 = Start(o0 + 48, accumulate);
        Vector512<float> a10 = Start(o1, accumulate), a11 = Start(o1 + 16, accumulate), a12 = Start(o1 + 32, accumulate), a13 = Start(o1 + 48, accumulate);
        Vector512<float> a20 = Start(o2, accumulate), a21 = Start(o2 + 16, accumulate), a22 = Start(o2 + 32, accumulate), a23 = Start(o2 + 48, accumulate);
        Vector512<float> a30 = Start(o3, accumulate), a31 = Start(o3 + 16, accumulate), a32 = Start(o3 + 32, accumulate), a33 = Start(o3 + 48, accumulate);
        float* p0 = p, p1 = p + keys, p2 = p1 + keys, p3 = p2 + keys;
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var v0 = Vector512.Load(row); var v1 = Vector512.Load(row + 16);
            var v2 = Vector512.Load(row + 32); var v3 = Vector512.Load(row + 48);
            var w = Vector512.Create(p0[j]);
            a00 = Vector512.FusedMultiplyAdd(w, v0, a00); a01 = Vector512.FusedMultiplyAdd(w, v1, a01);
            a02 = Vector512.FusedMultiplyAdd(w, v2, a02); a03 = Vector512.FusedMultiplyAdd(w, v3, a03);
            w = Vector512.Create(p1[j]);
            a10 = Vector512.FusedMultiplyAdd(w, v0, a10); a11 = Vector512.FusedMultiplyAdd(w, v1, a11);
            a12 = Vector512.FusedMultiplyAdd(w, v2, a12); a13 = Vector512.FusedMultiplyAdd(w, v3, a13);
            w = Vector512.Create(p2[j]);
            a20 = Vector512.FusedMultiplyAdd(w, v0, a20); a21 = Vector512.FusedMultiplyAdd(w, v1, a21);
            a22 = Vector512.FusedMultiplyAdd(w, v2, a22); a23 = Vector512.FusedMultiplyAdd(w, v3, a23);
            w = Vector512.Create(p3[j]);
            a30 = Vector512.FusedMultiplyAdd(w, v0, a30); a31 = Vector512.FusedMultiplyAdd(w, v1, a31);
            a32 = Vector512.FusedMultiplyAdd(w, v2, a32); a33 = Vector512.FusedMultiplyAdd(w, v3, a33);
        }
        a00.Store(o0); a01.Store(o0 + 16); a02.Store(o0 + 32); a03.Store(o0 + 48);
        a10.Store(o1); a11.Store(o1 + 16); a12.Store(o1 + 32); a13.Store(o1 + 48);
        a20.Store(o2); a21.Store(o2 + 16); a22.Store(o2 + 32); a23.Store(o2 + 48);
        a30.Store(o3); a31.Store(o3 + 16); a32.Store(o3 + 32); a33.Store(o3 + 48);
    }

    // Vector256 tiles for machines without AVX-512: the same per-lane FMA chains over j, in fewer lanes.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x16Narrow(float* p, int end, float* v, int hd, int d, float* output, bool accumulate)
    {
        float* o = output + d;
        Vector256<float> a0 = Start256(o, accumulate), a1 = Start256(o + 8, accumulate);
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var w = Vector256.Create(p[j]);
            a0 = Vector256.FusedMultiplyAdd(w, Vector256.Load(row), a0);
            a1 = Vector256.FusedMultiplyAdd(w, Vector256.Load(row + 8), a1);
        }
        a0.Store(o); a1.Store(o + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x16Narrow(float* p, int keys, int end, float* v, int hd, int d, float* output, int stride, bool accumulate)
    {
        float* o0 = output + d, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
        Vector256<float> a00 = Start256(o0, accumulate), a01 = Start256(o0 + 8, accumulate), a10 = Start256(o1, accumulate), a11 = Start256(o1 + 8, accumulate);
        Vector256<float> a20 = Start256(o2, accumulate), a21 = Start256(o2 + 8, accumulate), a30 = Start256(o3, accumulate), a31 = Start256(o3 + 8, accumulate);
        float* p0 = p, p1 = p + keys, p2 = p1 + keys, p3 = p2 + keys;
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var v0 = Vector256.Load(row); var v1 = Vector256.Load(row + 8);
            var w = Vector256.Create(p0[j]);
            a00 = Vector256.FusedMultiplyAdd(w, v0, a00); a01 = Vector256.FusedMultiplyAdd(w, v1, a01);
            w = Vector256.Create(p1[j]);
            a10 = Vector256.FusedMultiplyAdd(w, v0, a10); a11 = Vector256.FusedMultiplyAdd(w, v1, a11);
            w = Vector256.Create(p2[j]);
            a20 = Vector256.FusedMultiplyAdd(w, v0, a20); a21 = Vector256.FusedMultiplyAdd(w, v1, a21);
            w = Vector256.Create(p3[j]);
            a30 = Vector256.FusedMultiplyAdd(w, v0, a30); a31 = Vector256.FusedMultiplyAdd(w, v1, a31);
        }
        a00.Store(o0); a01.Store(o0 + 8);
        a10.Store(o1); a11.Store(o1 + 8);
        a20.Store(o2); a21.Store(o2 + 8);
        a30.Store(o3); a31.Store(o3 + 8);
    }
}
