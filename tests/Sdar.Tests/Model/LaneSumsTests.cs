using System.Runtime.Intrinsics;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class LaneSumsTests
{
    /// <summary>Lanes of very different magnitudes and signs, so that any other order of the additions rounds differently.</summary>
    private static Vector512<float>[] Accumulators(int seed)
    {
        var random = new Random(seed);
        var lanes = new float[16];
        return [.. Enumerable.Range(0, 16).Select(_ =>
        {
            for (int i = 0; i < 16; i++) lanes[i] = (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-6, 7)));
            return Vector512.Create(lanes);
        })];
    }

    [Fact]
    public void Sixteen_lane_sums_at_once_are_the_bits_of_Vector512_Sum()
    {
        if (!LaneSums.IsSupported) return;   // nothing to compare on a machine without AVX-512
        for (int seed = 0; seed < 200; seed++)
        {
            var a = Accumulators(seed);
            var sums = LaneSums.Of16(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
            for (int i = 0; i < 16; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(Vector512.Sum(a[i])), BitConverter.SingleToInt32Bits(sums[i]));
        }
    }

    [Fact]
    public void Four_lane_sums_at_once_are_the_bits_of_Vector512_Sum()
    {
        if (!LaneSums.IsSupported) return;
        for (int seed = 0; seed < 200; seed++)
        {
            var a = Accumulators(seed);
            var sums = LaneSums.Of4(a[0], a[1], a[2], a[3]);
            for (int i = 0; i < 4; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(Vector512.Sum(a[i])), BitConverter.SingleToInt32Bits(sums[i]));
        }
    }

    [Fact]
    public void The_test_data_tells_summation_orders_apart()
    {
        // Guards the two tests above: with these lanes, a plain left-to-right sum differs from the tree somewhere.
        bool differs = false;
        for (int seed = 0; seed < 200 && !differs; seed++)
            foreach (var v in Accumulators(seed))
            {
                float sequential = 0;
                for (int i = 0; i < 16; i++) sequential += v[i];
                differs |= sequential != Vector512.Sum(v);
            }
        Assert.True(differs);
    }
}
