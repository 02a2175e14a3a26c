using System.Runtime.Intrinsics;
using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class AttentionScoresTests
{
    /// <summary>The one chain every score is: fma over head_dim in order, from zero.</summary>
    private static float Chain(float[] keyRows, int key, float[] queryRows, int query, int hd)
    {
        float s = 0;
        for (int d = 0; d < hd; d++) s = MathF.FusedMultiplyAdd(keyRows[key * hd + d], queryRows[query * hd + d], s);
        return s;
    }

    [Theory]
    [InlineData(1, 5, 64)]      // fewer keys than one tile
    [InlineData(2, 37, 64)]     // AR decoding: two query rows, whole tiles and a partial one
    [InlineData(2, 60, 64)]     // two rows against four vectors, the last of them partial
    [InlineData(6, 130, 64)]    // four rows, then two
    [InlineData(3, 80, 128)]    // rows left over against groups of four vectors
    [InlineData(4, 16, 64)]     // one tile: the Vector512 path's pairs of vectors have one left over
    [InlineData(9, 53, 12)]     // a head_dim of no whole vector, rows of four and one left over
    [InlineData(8, 130, 64)]
    public unsafe void Every_score_is_the_fma_chain_over_head_dim_at_either_vector_width(int queries, int keyCount, int hd)
    {
        var random = new Random(queries * 1000 + keyCount);
        var keyRows = Enumerable.Range(0, keyCount * hd).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var queryRows = Enumerable.Range(0, queries * hd).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var tiles = new float[KeyTiles.Length(keyCount, hd)];
        KeyTiles.FromRows(keyRows, keyCount, hd, tiles);
        // The scores land in columns 3 .. 3 + keyCount of wider rows, as a run of keys does in the score matrix:
        // the columns around them must stay as they were (the last tile's padding is never stored).
        int stride = keyCount + 7;
        foreach (bool wide in Vector512.IsHardwareAccelerated ? new[] { true, false } : [false])
        {
            var scores = Enumerable.Repeat(float.NaN, queries * stride).ToArray();
            fixed (float* k = tiles)
            fixed (float* q = queryRows)
            fixed (float* s = scores)
                AttentionScores.Compute(k, keyCount, q, queries, hd, s + 3, stride, wide);
            for (int i = 0; i < queries; i++)
                for (int c = 0; c < stride; c++)
                {
                    float actual = scores[i * stride + c];
                    if (c < 3 || c >= 3 + keyCount) Assert.True(float.IsNaN(actual), $"column {c} outside the run was written");
                    else Assert.Equal(BitConverter.SingleToInt32Bits(Chain(keyRows, c - 3, queryRows, i, hd)), BitConverter.SingleToInt32Bits(actual));
                }
        }
    }

    [Fact]
    public void Keys_in_tiles_put_dimension_d_of_sixteen_positions_side_by_side()
    {
        int hd = 3;
        Assert.Equal(0, KeyTiles.Index(0, 0, hd));
        Assert.Equal(1, KeyTiles.Index(1, 0, hd));
        Assert.Equal(16 + 5, KeyTiles.Index(5, 1, hd));
        Assert.Equal(3 * 16 + 2 * 16 + 1, KeyTiles.Index(17, 2, hd));
        Assert.Equal(2 * 3 + 1, KeyTiles.Index(2, 1, hd, width: 1));   // width 1: rows
        Assert.Equal(2 * 16 * hd, KeyTiles.Length(17, hd));
        var rows = Enumerable.Range(0, 17 * hd).Select(i => (float)i + 1).ToArray();
        var tiles = Enumerable.Repeat(float.NaN, KeyTiles.Length(17, hd)).ToArray();
        KeyTiles.FromRows(rows, 17, hd, tiles);
        for (int p = 0; p < 17; p++)
            for (int d = 0; d < hd; d++) Assert.Equal(rows[p * hd + d], tiles[KeyTiles.Index(p, d, hd)]);
        Assert.Equal(17 * hd, tiles.Count(x => x != 0));   // the padding of the last tile is zero
    }
}
