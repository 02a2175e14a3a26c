using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model;

/// <summary>
/// The group-wise symmetric quantization of the Q8_0 and Q4_0 formats: groups of <see cref="Size"/> consecutive
/// inputs of one output row share one fp16 scale. The arithmetic is ggml's (<c>quantize_row_q8_0_ref</c>,
/// <c>quantize_row_q4_0_ref</c> in ggml-quants.c), so the values equal those of a llama.cpp Q8_0 / Q4_0 file; the
/// layout is planar (values and scales in separate tensors) rather than ggml's interleaved blocks.
/// </summary>
public static class QuantizedGroup
{
    public const int Size = 32;

    /// <summary>
    /// fp16 bits to float, exactly as <c>(float)Half</c> for every finite value: the 15 magnitude bits moved to
    /// float's exponent/mantissa position, then scaled by 2^112 (which also turns fp16 subnormals into the right
    /// floats), with the sign carried along. A few integer ops, cheap enough to run once per group in the kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScaleToFloat(ushort bits) =>
        BitConverter.Int32BitsToSingle(((bits & 0x7FFF) << 13) | ((bits & 0x8000) << 16)) * TwoPow112;

    /// <summary><see cref="ScaleToFloat"/> for 16 scales at once (lane by lane the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> ScalesToFloat(ushort* bits)
    {
        var b = Avx512F.ConvertToVector512Int32(Vector256.Load(bits));
        var magnitude = (b & Vector512.Create(0x7FFF)) << 13;
        var sign = (b & Vector512.Create(0x8000)) << 16;
        return (magnitude | sign).AsSingle() * Vector512.Create(TwoPow112);
    }

    // 2^112: fp16's exponent bias (15) moved to float's (127). A constant, not a static readonly: the kernels are
    // compiled straight to optimized code (AggressiveOptimization), where a static readonly is a load behind a
    // class-initialisation check in every loop that converts a scale.
    internal const float TwoPow112 = 5192296858534827628530496329220096f;

    /// <summary>
    /// One Q8_0 group: d = max|x| / 127 stored as fp16, q = round(x / d) (half away from zero, through the
    /// reciprocal as ggml does), all zero when d is 0.
    /// </summary>
    public static ushort QuantizeQ8(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        float amax = 0f;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < Size; j++) q[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        return BitConverter.HalfToUInt16Bits((Half)d);
    }

    /// <summary>
    /// One Q4_0 group: d = m / -8 where m is the value of largest magnitude, so that m maps to -8 and the full
    /// range [-8, 7] is used; nibble = min(15, trunc(x / d + 8.5)). Byte j holds input j in its low nibble and input
    /// j + 16 in its high nibble (ggml's order), so a 16-lane kernel unpacks a group without shuffles.
    /// </summary>
    public static ushort QuantizeQ4(ReadOnlySpan<float> x, Span<byte> packed)
    {
        float amax = 0f, max = 0f;
        foreach (float v in x)
            if (amax < MathF.Abs(v))
            {
                amax = MathF.Abs(v);
                max = v;
            }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < Size / 2; j++)
        {
            int low = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
            int high = Math.Min(15, (int)(sbyte)(x[j + Size / 2] * id + 8.5f));
            packed[j] = (byte)(low | (high << 4));
        }
        return BitConverter.HalfToUInt16Bits((Half)d);
    }
}
