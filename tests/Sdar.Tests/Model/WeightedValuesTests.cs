using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class WeightedValuesTests
{
    [Theory]
    [InlineData(1, 9, 64)]
    [InlineData(2, 37, 64)]     // a pair of queries: the AR decoding tile
    [InlineData(3, 20, 80)]     // a pair and one, with dimensions past the last 64
    [InlineData(6, 33, 128)]    // four, then a pair
    public unsafe void Every_output_is_the_fma_chain_over_the_visible_keys_whatever_the_tile_and_the_runs(int queries, int keys, int hd)
    {
        var random = new Random(queries * 100 + keys);
        var p = Enumerable.Range(0, queries * keys).Select(_ => (float)random.NextDouble()).ToArray();
        var v = Enumerable.Range(0, keys * hd).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var visible = Enumerable.Range(0, queries).Select(q => keys - q % 3).ToArray();
        for (int q = 0; q < queries; q++)
            for (int j = visible[q]; j < keys; j++) p[q * keys + j] = 0;   // as attention clears them
        var whole = new float[queries * hd];
        var byRuns = new float[queries * hd];
        int split = keys / 3;
        fixed (float* pp = p)
        fixed (float* vp = v)
        fixed (int* vis = visible)
        fixed (float* o = whole)
        fixed (float* r = byRuns)
        {
            WeightedValues.Compute(pp, queries, keys, vis, vp, hd, o, hd);
            WeightedValues.Compute(pp, queries, keys, 0, split, vis, vp, hd, r, hd, accumulate: false);
            WeightedValues.Compute(pp, queries, keys, split, keys - split, vis, vp + (long)split * hd, hd, r, hd, accumulate: true);
        }
        for (int q = 0; q < queries; q++)
            for (int d = 0; d < hd; d++)
            {
                float expected = 0;
                for (int j = 0; j < visible[q]; j++) expected = MathF.FusedMultiplyAdd(p[q * keys + j], v[j * hd + d], expected);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(whole[q * hd + d]));
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(byRuns[q * hd + d]));
            }
    }
}
