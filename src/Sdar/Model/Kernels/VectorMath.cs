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

    /// <summary>gate = silu(gate) * up, in place (the SwiGLU activation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= gate.Length; i += 16)
            {
                var g = Vector512.Create(gate.Slice(i, 16));
                var silu = g / (Vector512<float>.One + Vector512.Exp(-g));
                (silu * Vector512.Create(up.Slice(i, 16))).CopyTo(gate.Slice(i, 16));
            }
            if (i < gate.Length)
            {
                // The tail through the same vector arithmetic (padded), so that an element's result never depends on
                // where the span it came in starts or ends (MatMul.ComputeSwiGlu applies this to chunks of columns).
                Span<float> g = stackalloc float[16], u = stackalloc float[16];
                g.Clear();
                u.Clear();
                gate[i..].CopyTo(g);
                up.Slice(i, gate.Length - i).CopyTo(u);
                SwiGlu(g, u);
                g[..(gate.Length - i)].CopyTo(gate[i..]);
            }
            return;
        }
        for (; i < gate.Length; i++) gate[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }

    /// <summary>In-place softmax of <paramref name="x"/> times <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledSoftmax(Span<float> x, float scale)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) max = MathF.Max(max, v);
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
                var e = Vector512.Exp(Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i, 16)), s, -m));
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
                var e = Vector256.Exp(Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(i, 8)), s, -m));
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
        for (i = 0; i < x.Length; i++) x[i] *= inv;
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
