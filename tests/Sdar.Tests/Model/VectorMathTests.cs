using System.Runtime.Intrinsics;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class VectorMathTests
{
    private static int UlpDistance(float a, float b) => Math.Abs(BitConverter.SingleToInt32Bits(a) - BitConverter.SingleToInt32Bits(b));

    [Fact]
    public void Vector_exp_is_within_two_ulp_of_the_exact_value_and_keeps_its_limits()
    {
        var random = new Random(5);
        var xs = Enumerable.Range(0, 20_000).Select(_ => (float)(random.NextDouble() * 175 - 87)).Concat([0f, -0f, 1f, -1f, 1e-8f, -1e-8f, 88f, -87.3f]).ToArray();
        for (int i = 0; i + 8 <= xs.Length; i += 8)
        {
            var narrow = VectorMath.Exp(Vector256.Create(xs.AsSpan(i, 8)));
            var wide = Vector512.IsHardwareAccelerated && i + 16 <= xs.Length ? VectorMath.Exp(Vector512.Create(xs.AsSpan(i, 16))) : default;
            for (int j = 0; j < 8; j++)
            {
                float exact = (float)Math.Exp(xs[i + j]);
                Assert.True(UlpDistance(exact, narrow[j]) <= 2, $"exp({xs[i + j]:R}) = {narrow[j]:R}, exactly {exact:R}");
                if (Vector512.IsHardwareAccelerated && i + 16 <= xs.Length)
                    Assert.Equal(BitConverter.SingleToInt32Bits(narrow[j]), BitConverter.SingleToInt32Bits(wide[j]));
            }
        }
        var limits = VectorMath.Exp(Vector256.Create(-100f, -87.5f, 88.5f, 100f, float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f));
        Assert.Equal(0f, limits[0]);
        Assert.Equal(0f, limits[1]);
        Assert.Equal(float.PositiveInfinity, limits[2]);
        Assert.Equal(float.PositiveInfinity, limits[3]);
        Assert.Equal(0f, limits[4]);
        Assert.Equal(float.PositiveInfinity, limits[5]);
        Assert.True(float.IsNaN(limits[6]));
        Assert.Equal(1f, limits[7]);
    }

    [Fact]
    public void SwiGlu_gives_each_element_the_same_bits_however_the_span_is_cut()
    {
        var random = new Random(11);
        var gate = Enumerable.Range(0, 77).Select(_ => (float)(random.NextDouble() * 20 - 10)).ToArray();
        var up = Enumerable.Range(0, 77).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var whole = (float[])gate.Clone();
        VectorMath.SwiGlu(whole, up);
        foreach (int cut in new[] { 4, 12, 20, 36 })
        {
            var pieces = (float[])gate.Clone();
            for (int start = 0; start < pieces.Length; start += cut)
            {
                int length = Math.Min(cut, pieces.Length - start);
                VectorMath.SwiGlu(pieces.AsSpan(start, length), up.AsSpan(start, length));
            }
            Assert.Equal(whole.Select(BitConverter.SingleToInt32Bits), pieces.Select(BitConverter.SingleToInt32Bits));
        }
        for (int i = 0; i < gate.Length; i++)
            Assert.Equal(gate[i] / (1 + Math.Exp(-gate[i])) * up[i], whole[i], 1e-5);
    }
    [Fact]
    public void Scaled_softmax_matches_the_exact_one_at_every_length()
    {
        var random = new Random(3);
        foreach (int length in Enumerable.Range(1, 40).Concat([516, 1023]))
        {
            var x = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 40 - 20)).ToArray();
            if (length > 3) x[length / 2] = float.NegativeInfinity;   // a masked score weighs nothing
            const float scale = 0.125f;
            double max = x.Max(v => (double)v) * scale;
            var exact = x.Select(v => Math.Exp(v * scale - max)).ToArray();
            double sum = exact.Sum();
            var y = (float[])x.Clone();
            VectorMath.ScaledSoftmax(y, scale);
            for (int i = 0; i < length; i++)
                Assert.True(Math.Abs(y[i] - exact[i] / sum) <= 1e-6 + 1e-5 * exact[i] / sum, $"length {length}, element {i}: {y[i]} vs {exact[i] / sum}");
        }
    }
}
