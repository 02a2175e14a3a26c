using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels;

/// <summary>
/// The lane sums of several Vector512 accumulators at once, bit-identical to <see cref="Vector512.Sum{T}"/> of each.
/// <para>
/// Why: a 4 x 4 tile over K = 256 runs 8 loop iterations and then 16 lane sums; one lane sum is ~23 instructions of
/// extracts, permutes and adds, so at the small hidden sizes of the bundled models the sums cost about as much as
/// the multiply-adds. Here the same additions run across 16 accumulators at once: 15 shuffle-shuffle-add steps.
/// </para>
/// <para>
/// Same numbers: <see cref="Vector512.Sum{T}"/> adds as a balanced tree over adjacent lanes (pairs, then 4 lanes of
/// a 128-bit block, then the two blocks of each half, then the halves; what the JIT emits on x64). Every level here
/// adds exactly those pairs, only for many accumulators per instruction, and float addition is commutative, so each
/// sum is the same bits. A test checks this against <see cref="Vector512.Sum{T}"/>.
/// </para>
/// </summary>
internal static class LaneSums
{
    /// <summary>Whether <see cref="Of16"/> and <see cref="Of4"/> can run (the caller keeps Vector512.Sum otherwise).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Lane i of the result is the lane sum of accumulator i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of16(
        Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> a4, Vector512<float> a5, Vector512<float> a6, Vector512<float> a7,
        Vector512<float> a8, Vector512<float> a9, Vector512<float> a10, Vector512<float> a11,
        Vector512<float> a12, Vector512<float> a13, Vector512<float> a14, Vector512<float> a15)
    {
        // (16 lanes) -> per 128-bit block b: pair sums, then the 4-lane sums q(b) of four accumulators.
        var q0 = Pairs(Pairs(a0, a1), Pairs(a2, a3));
        var q1 = Pairs(Pairs(a4, a5), Pairs(a6, a7));
        var q2 = Pairs(Pairs(a8, a9), Pairs(a10, a11));
        var q3 = Pairs(Pairs(a12, a13), Pairs(a14, a15));
        // q(0) + q(1) and q(2) + q(3) (the two 256-bit halves), then the halves.
        return Blocks(Blocks(q0, q1), Blocks(q2, q3));
    }

    /// <summary>Lane i (0..3) of the result is the lane sum of accumulator i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Of4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        var q = Pairs(Pairs(a0, a1), Pairs(a2, a3));
        var halves = Blocks(q, q);
        return Blocks(halves, halves).GetLower().GetLower();
    }

    /// <summary>Per 128-bit block: [a0 + a1, a2 + a3, b0 + b1, b2 + b3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pairs(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0b10_00_10_00) + Avx512F.Shuffle(a, b, 0b11_01_11_01);

    /// <summary>128-bit blocks: [a.0 + a.1, a.2 + a.3, b.0 + b.1, b.2 + b.3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Blocks(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0b10_00_10_00) + Avx512F.Shuffle4x128(a, b, 0b11_01_11_01);
}
