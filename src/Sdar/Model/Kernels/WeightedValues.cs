using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels;

/// <summary>
/// The second half of attention: out[q, :] = sum over keys j of p[q, j] * v[j, :], with v the (keys, head_dim)
/// value rows as the cache stores them. Tiles of 4 queries x 64 dims keep 16 accumulators in registers, so each value
/// row is loaded once per 4 queries; every output is one FMA chain over j in key order, whatever the tile.
/// </summary>
public static unsafe class WeightedValues
{
    /// <param name="p">(queries, keys) probabilities, row-major.</param>
    /// <param name="visible">per query, how many keys (a prefix) it sees; later probabilities are ignored.</param>
    /// <param name="v">(keys, hd) value rows.</param>
    /// <param name="output">(queries, hd) result rows, each at <paramref name="outputStride"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(float* p, int queries, int keys, int* visible, float* v, int hd, float* output, int outputStride)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int q = 0;
        for (; q + 4 <= queries; q += 4)
        {
            int end = Math.Max(Math.Max(visible[q], visible[q + 1]), Math.Max(visible[q + 2], visible[q + 3]));
            int d = 0;
            if (wide)
                for (; d + 64 <= hd; d += 64) Tile4x64(p + (long)q * keys, keys, end, v, hd, d, output + (long)q * outputStride, outputStride);
            else
                for (; d + 16 <= hd; d += 16) Tile4x16Narrow(p + (long)q * keys, keys, end, v, hd, d, output + (long)q * outputStride, outputStride);
            for (; d < hd; d++)
                for (int r = 0; r < 4; r++) output[(long)(q + r) * outputStride + d] = Scalar(p + (long)(q + r) * keys, end, v, hd, d);
        }
        for (; q < queries; q++)
        {
            int end = visible[q];
            int d = 0;
            if (wide)
                for (; d + 64 <= hd; d += 64) Tile1x64(p + (long)q * keys, end, v, hd, d, output + (long)q * outputStride);
            else
                for (; d + 16 <= hd; d += 16) Tile1x16Narrow(p + (long)q * keys, end, v, hd, d, output + (long)q * outputStride);
            for (; d < hd; d++) output[(long)q * outputStride + d] = Scalar(p + (long)q * keys, end, v, hd, d);
        }
    }

    // Probabilities past a query's visible prefix are zero (the caller clears them), so a tile may run to the
    // largest prefix of its queries: adding 0 * v leaves every sum exactly as the scalar path computes it.
    private static float Scalar(float* p, int end, float* v, int hd, int d)
    {
        float acc = 0;
        for (int j = 0; j < end; j++) acc = MathF.FusedMultiplyAdd(p[j], v[(long)j * hd + d], acc);
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x64(float* p, int end, float* v, int hd, int d, float* output)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var w = Vector512.Create(p[j]);
            a0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row), a0);
            a1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(w, Vector512.Load(row + 48), a3);
        }
        a0.Store(output + d); a1.Store(output + d + 16); a2.Store(output + d + 32); a3.Store(output + d + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x64(float* p, int keys, int end, float* v, int hd, int d, float* output, int stride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
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
        float* o = output + d;
        a00.Store(o); a01.Store(o + 16); a02.Store(o + 32); a03.Store(o + 48);
        o += stride;
        a10.Store(o); a11.Store(o + 16); a12.Store(o + 32); a13.Store(o + 48);
        o += stride;
        a20.Store(o); a21.Store(o + 16); a22.Store(o + 32); a23.Store(o + 48);
        o += stride;
        a30.Store(o); a31.Store(o + 16); a32.Store(o + 32); a33.Store(o + 48);
    }

    // Vector256 tiles for machines without AVX-512: the same per-lane FMA chains over j, in fewer lanes.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x16Narrow(float* p, int end, float* v, int hd, int d, float* output)
    {
        Vector256<float> a0 = default, a1 = default;
        for (int j = 0; j < end; j++)
        {
            float* row = v + (long)j * hd + d;
            var w = Vector256.Create(p[j]);
            a0 = Vector256.FusedMultiplyAdd(w, Vector256.Load(row), a0);
            a1 = Vector256.FusedMultiplyAdd(w, Vector256.Load(row + 8), a1);
        }
        a0.Store(output + d); a1.Store(output + d + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x16Narrow(float* p, int keys, int end, float* v, int hd, int d, float* output, int stride)
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
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
        float* o = output + d;
        a00.Store(o); a01.Store(o + 8);
        o += stride;
        a10.Store(o); a11.Store(o + 8);
        o += stride;
        a20.Store(o); a21.Store(o + 8);
        o += stride;
        a30.Store(o); a31.Store(o + 8);
    }
}
