using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sdar.Model.Kernels;

/// <summary>Element-wise helpers of the fast engine: row norms, SwiGLU, softmax, axpy; vectorised, single-threaded.</summary>
public static unsafe class VectorMath
{
    /// <summary>y = x / rms(x) * weight over one row of length n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, float eps)
    {
        int n = x.Length;
        float sumSquares = SumOfSquares(x);
        float inv = 1f / MathF.Sqrt(sumSquares / n + eps);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(inv);
            for (; i + 16 <= n; i += 16)
                (Vector512.Create(x.Slice(i, 16)) * s * Vector512.Create(weight.Slice(i, 16))).CopyTo(y.Slice(i, 16));
        }
        for (; i < n; i++) y[i] = x[i] * inv * weight[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SumOfSquares(ReadOnlySpan<float> x)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= x.Length; i += 16)
            {
                var v = Vector512.Create(x.Slice(i, 16));
                acc = Vector512.FusedMultiplyAdd(v, v, acc);
            }
            sum = Vector512.Sum(acc);
        }
        for (; i < x.Length; i++) sum += x[i] * x[i];
        return sum;
    }

    // e^x in float arithmetic, Cephes' expf: x = n ln 2 + r with ln 2 in two parts (r within +-ln2/2), a degree-6
    // polynomial for e^r, and 2^n built from the exponent bits. Within 2 ulp of the exact value over the normal range.
    // Why not Vector512.Exp: .NET computes it in double, and it was ~8 % of a forward of sdar-mini (the SwiGLU and the
    // attention softmax). Outside the range where 2^n is a normal float, below -87.34 the result is 0 and from 88.37
    // (float overflows at 88.72) infinity; a NaN stays NaN.
    private const float ExpLow = -87.33654f, ExpHigh = 88.37f, Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float ExpC0 = 1.9875691500e-4f, ExpC1 = 1.3981999507e-3f, ExpC2 = 8.3334519073e-3f,
        ExpC3 = 4.1665795894e-2f, ExpC4 = 1.6666665459e-1f, ExpC5 = 5.0000001201e-1f;

    /// <summary>
    /// e^x per lane, as two halves through <see cref="Exp(Vector256{float})"/>: the same bits on either width, and on
    /// CPUs that run 512-bit operations as two 256-bit halves (Zen 4, this machine) no slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp(Vector512<float> x) => Vector512.Create(Exp(x.GetLower()), Exp(x.GetUpper()));

    /// <summary>e^x per lane (see the constants above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        // The native min / max (vminps, vmaxps): a NaN turns into a bound here and is put back by the last select.
        var clamped = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(ExpLow)), Vector256.Create(ExpHigh));
        var n = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), clamped);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(ExpC0), r, Vector256.Create(ExpC1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        var scale = ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
        var result = p * scale;
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(ExpLow)), Vector256<float>.Zero, result);
        result = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256.Create(ExpHigh)), Vector256.Create(float.PositiveInfinity), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>gate = silu(gate) * up, in place (the SwiGLU activation).</summary>
    /// <remarks>
    /// Eight lanes at a time wherever Vector256 is accelerated (on AVX-512 machines too: <see cref="Exp(Vector512{float})"/>
    /// is two of these halves anyway), so every such machine gets the same bits; the tail goes through the same vector
    /// arithmetic, padded, so that an element's result never depends on where the span it came in starts or ends
    /// (MatMul.ComputeSwiGlu applies this to chunks of columns).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length < gate.Length) throw new ArgumentException($"SwiGLU: {up.Length} up values for {gate.Length} gate values", nameof(up));
        if (!Vector256.IsHardwareAccelerated)
        {
            for (int j = 0; j < gate.Length; j++) gate[j] = gate[j] / (1f + MathF.Exp(-gate[j])) * up[j];
            return;
        }
        int i = 0;
        for (; i + 8 <= gate.Length; i += 8)
        {
            var g = Vector256.Create(gate.Slice(i, 8));
            (g / (Vector256<float>.One + Exp(-g)) * Vector256.Create(up.Slice(i, 8))).CopyTo(gate.Slice(i, 8));
        }
        if (i < gate.Length) SwiGluTail(gate[i..], up.Slice(i, gate.Length - i));
    }

    /// <summary>Fewer than 8 values, padded to one vector (apart, so that the loop above keeps no stack buffer).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SwiGluTail(Span<float> gate, ReadOnlySpan<float> up)
    {
        Span<float> g = stackalloc float[8], u = stackalloc float[8];
        g.Clear();
        u.Clear();
        gate.CopyTo(g);
        up.CopyTo(u);
        SwiGlu(g, u);
        g[..gate.Length].CopyTo(gate);
    }

    /// <summary>In-place softmax of <paramref name="x"/> times <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledSoftmax(Span<float> x, float scale)
    {
        // The maximum and the final scaling by lanes too (they were scalar passes, and together most of the softmax
        // of a cached forward): a maximum is the same whatever the order (Vector256.Max, like MathF.Max, keeps NaN
        // and ranks +0 above -0), and each x * inv is the scalar product.
        float max = float.NegativeInfinity;
        int j = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            var maxima = Vector256.Create(float.NegativeInfinity);
            for (; j + 8 <= x.Length; j += 8) maxima = Vector256.Max(maxima, Vector256.Create(x.Slice(j, 8)));
            for (int lane = 0; lane < 8; lane++) max = MathF.Max(max, maxima[lane]);
        }
        for (; j < x.Length; j++) max = MathF.Max(max, x[j]);
        max *= scale;
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var s = Vector512.Create(scale);
            var m = Vector512.Create(max);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= x.Length; i += 16)
            {
                var e = Exp(Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i, 16)), s, -m));
                e.CopyTo(x.Slice(i, 16));
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            var s = Vector256.Create(scale);
            var m = Vector256.Create(max);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= x.Length; i += 8)
            {
                var e = Exp(Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(i, 8)), s, -m));
                e.CopyTo(x.Slice(i, 8));
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < x.Length; i++)
        {
            x[i] = MathF.Exp(x[i] * scale - max);
            sum += x[i];
        }
        float inv = 1f / sum;
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var invs = Vector256.Create(inv);
            for (; i + 8 <= x.Length; i += 8) (Vector256.Create(x.Slice(i, 8)) * invs).CopyTo(x.Slice(i, 8));
        }
        for (; i < x.Length; i++) x[i] *= inv;
    }

    /// <summary>y += a * x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= x.Length; i += 16)
                Vector512.FusedMultiplyAdd(av, Vector512.Create(x.Slice(i, 16)), Vector512.Create(y.Slice(i, 16))).CopyTo(y.Slice(i, 16));
        }
        for (; i < x.Length; i++) y[i] += a * x[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16)
                (Vector512.Create(y.Slice(i, 16)) + Vector512.Create(x.Slice(i, 16))).CopyTo(y.Slice(i, 16));
        for (; i < x.Length; i++) y[i] += x[i];
    }
}
