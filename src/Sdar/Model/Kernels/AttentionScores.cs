using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Sdar.Model.Kernels.Formats;

namespace Sdar.Model.Kernels;

/// <summary>
/// Attention scores, (queries, keys) = q (queries, hd) k^T, for any number of query rows.
/// <para>
/// Why not only <see cref="MatMul.ComputeF32"/>: its 4 x 4 tiles need 4 query rows, and AR decoding has
/// <c>heads / kv_heads</c> of them (2 in the bundled models), so every score fell to a lone dot product with its own
/// lane sum. Here one query row meets 16 keys at a time (the query loaded once per 16 lanes) and the 16 lane sums
/// run together (<see cref="LaneSums"/>).
/// </para>
/// <para>
/// Same numbers: each score is the FMA chain over head_dim in 16-lane steps and the lane sum of
/// <see cref="F32Format.DotF32"/>, so the rows a 4 x 4 tile computes and the rows computed here are the same bits,
/// whatever the tiling (batch invariance, cached or recomputed keys).
/// </para>
/// </summary>
internal static unsafe class AttentionScores
{
    private const int KeyTile = 16;

    /// <summary>Whether <see cref="Compute"/> applies: AVX-512 and a head_dim of whole 16-lane steps.</summary>
    public static bool Supports(int hd, bool useVector512) => useVector512 && LaneSums.IsSupported && hd % 16 == 0;

    /// <param name="keys">(keyCount, hd) key rows.</param>
    /// <param name="queries">(queryCount, hd) query rows.</param>
    /// <param name="scores">(queryCount, keyCount) result, rows <paramref name="scoreStride"/> floats apart (default keyCount).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(float* keys, int keyCount, float* queries, int queryCount, int hd, float* scores, int scoreStride = 0)
    {
        if (scoreStride <= 0) scoreStride = keyCount;
        for (int qi = 0; qi < queryCount; qi++)
        {
            float* query = queries + (long)qi * hd, row = scores + (long)qi * scoreStride;
            int j = 0;
            for (; j + KeyTile <= keyCount; j += KeyTile) Tile1x16(query, keys + (long)j * hd, hd, row + j);
            for (; j < keyCount; j++) row[j] = Dot(keys + (long)j * hd, query, hd);
        }
    }

    /// <summary>One key's score as the F32 tiles' per-output path computes it: one FMA chain over 16 lanes, then the lane sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(float* key, float* query, int hd)
    {
        var acc = Vector512<float>.Zero;
        for (int i = 0; i < hd; i += 16)
            acc = Vector512.FusedMultiplyAdd(Vector512.Load(key + i), Vector512.Load(query + i), acc);
        return Vector512.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x16(float* query, float* k0, int hd, float* output)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (int d = 0; d < hd; d += 16)
        {
            var q = Vector512.Load(query + d);
            float* k = k0 + d;
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(k), q, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(k + hd), q, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 2 * hd), q, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 3 * hd), q, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 4 * hd), q, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 5 * hd), q, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 6 * hd), q, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 7 * hd), q, a7);
            a8 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 8 * hd), q, a8);
            a9 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 9 * hd), q, a9);
            a10 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 10 * hd), q, a10);
            a11 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 11 * hd), q, a11);
            a12 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 12 * hd), q, a12);
            a13 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 13 * hd), q, a13);
            a14 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 14 * hd), q, a14);
            a15 = Vector512.FusedMultiplyAdd(Vector512.Load(k + 15 * hd), q, a15);
        }
        LaneSums.Of16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15).Store(output);
    }
}
