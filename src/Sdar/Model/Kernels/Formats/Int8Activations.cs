using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Activations quantized for the integer dot products: each row's groups of 32 inputs as int8 with one float scale,
/// d = max|x| / 127 and q = round(x / d), half away from zero, through the reciprocal (ggml's Q8_0 activations, but
/// the scale is kept in float rather than rounded to fp16). A row's values never depend on the other rows. Used by
/// <see cref="Q8Int8Product"/> and <see cref="Q4Int8Product"/>.
/// </summary>
internal static unsafe class Int8Activations
{
    public const int Group = QuantizedGroup.Size;

    /// <summary>Quantizes x (rows, k), k a multiple of 32, into q (rows, k) and scales (rows, k / 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(float* x, int rows, int k, sbyte* q, float* scales)
    {
        var half = Vector256.Create(0.5f);
        var one = Vector256<float>.One;
        var sign = Vector256.Create(-0f);
        for (long g = 0; g < (long)rows * k / Group; g++)
        {
            float* xg = x + g * Group;
            var v0 = Vector256.Load(xg);
            var v1 = Vector256.Load(xg + 8);
            var v2 = Vector256.Load(xg + 16);
            var v3 = Vector256.Load(xg + 24);
            var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = 0f;
            for (int i = 0; i < 8; i++) amax = MathF.Max(amax, m.GetElement(i));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            scales[g] = d;
            var inverse = Vector256.Create(id);
            var i0 = RoundAwayFromZero(v0 * inverse, half, one, sign);
            var i1 = RoundAwayFromZero(v1 * inverse, half, one, sign);
            var i2 = RoundAwayFromZero(v2 * inverse, half, one, sign);
            var i3 = RoundAwayFromZero(v3 * inverse, half, one, sign);
            Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store(q + g * Group);
        }
    }

    /// <summary>
    /// <c>MathF.Round(v, MidpointRounding.AwayFromZero)</c> lane by lane, exactly: the fraction v - trunc(v) is exact
    /// for |v| &lt;= 127.5, and half of it or more moves one step away from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundAwayFromZero(Vector256<float> v, Vector256<float> half, Vector256<float> one, Vector256<float> sign)
    {
        var whole = Vector256.Truncate(v);
        var step = Vector256.ConditionalSelect(sign, v, one);   // +-1 with v's sign
        var rounded = whole + (Vector256.GreaterThanOrEqual(Vector256.Abs(v - whole), half) & step);
        return Vector256.ConvertToInt32(rounded);
    }
}
