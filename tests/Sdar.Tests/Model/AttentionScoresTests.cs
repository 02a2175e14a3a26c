using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class AttentionScoresTests
{
    [Theory]
    [InlineData(1, 5, 64)]     // fewer keys than one 16-key tile
    [InlineData(2, 37, 64)]    // AR decoding: two query rows, whole tiles and a tail of keys
    [InlineData(3, 48, 128)]
    public unsafe void Scores_of_any_query_row_are_the_bits_of_the_tiled_product(int queries, int keyCount, int hd)
    {
        if (!AttentionScores.Supports(hd, KernelSettings.Default.UseVector512)) return;   // only the AVX-512 path has two kernels
        var random = new Random(queries * 1000 + keyCount);
        var keys = Enumerable.Range(0, keyCount * hd).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        // Four copies of the queries: the 4 x 4 tiles of ComputeF32 then cover every row.
        var rows = Enumerable.Range(0, queries * hd).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var tiledRows = Enumerable.Repeat(rows, 4).SelectMany(r => r).ToArray();
        var tiled = new float[4 * queries * keyCount];
        MatMul.ComputeF32(KernelSettings.Default, keys, keyCount, tiledRows, 4 * queries, hd, tiled);

        var scores = new float[queries * keyCount];
        fixed (float* k = keys)
        fixed (float* q = rows)
        fixed (float* s = scores)
            AttentionScores.Compute(k, keyCount, q, queries, hd, s);

        for (int i = 0; i < scores.Length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(tiled[i] + 0f), BitConverter.SingleToInt32Bits(scores[i] + 0f));
    }
}
