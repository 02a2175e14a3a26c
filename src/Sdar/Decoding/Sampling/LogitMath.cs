using System.Numerics;
using System.Runtime.InteropServices;

namespace Sdar.Decoding;

/// <summary>Numerically stable softmax pieces over one row of logits (subtract the max before exp).</summary>
internal static class LogitMath
{
    /// <summary>The largest logit. Throws when it is not finite: NaN/+inf logits are a model bug, not a choice.</summary>
    public static float Max(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) throw new ArgumentException("empty logits row", nameof(x));
        float max = float.NegativeInfinity;
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= 2 * Vector<float>.Count)
        {
            var vmax = new Vector<float>(float.NegativeInfinity);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(x);
            foreach (var v in vectors) vmax = Vector.Max(vmax, v);
            for (int k = 0; k < Vector<float>.Count; k++) max = MathF.Max(max, vmax[k]);
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) max = MathF.Max(max, x[i]);
        if (!float.IsFinite(max))
            throw new InvalidOperationException($"logits row has no finite maximum ({max}); the model produced NaN or infinite logits");
        return max;
    }

    /// <summary>Index of the largest logit; the lowest index among equal maxima (as torch.argmax).</summary>
    public static int ArgMax(ReadOnlySpan<float> x, out float max)
    {
        max = Max(x);
        return x.IndexOf(max);
    }

    /// <summary>
    /// Σ e_i and Σ e_i·d_i with d_i = (x_i - max)·scale and e_i = exp(d_i) (so the largest e is 1).
    /// Then softmax_i = e_i / Σe and the entropy is ln Σe - Σ(e·d)/Σe. Writes e into <paramref name="exps"/> when it is not empty.
    /// </summary>
    public static (double SumExp, double SumExpTimesLog) ExpSums(ReadOnlySpan<float> x, float max, float scale, bool withEntropy, Span<float> exps)
    {
        double sum = 0, weighted = 0;
        bool store = !exps.IsEmpty;
        for (int i = 0; i < x.Length; i++)
        {
            float d = (x[i] - max) * scale;
            float e = MathF.Exp(d);
            if (store) exps[i] = e;
            sum += e;
            // e == 0 also covers d = -inf (a masked-out logit), where e·d would be NaN.
            if (withEntropy && e > 0) weighted += (double)e * d;
        }
        return (sum, weighted);
    }

    public static float Entropy(double sumExp, double sumExpTimesLog) =>
        (float)(Math.Log(sumExp) - sumExpTimesLog / sumExp);
}
