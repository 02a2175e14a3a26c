using Sdar.Training;
using Sdar.Training.Data;
using Sdar.Training.Objectives;

namespace Sdar.Tests.Training;

/// <summary>The training masks of DESIGN sections 2 and 3, as pure functions of the row layout.</summary>
public class TrainingMaskTests
{
    // Two samples of lengths 6 and 5 and one padding position: positions restart per sample.
    private static readonly int[] SampleIds = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1];
    private static readonly int[] Positions = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0];
    private const int N = 12, B = 4;

    private static AttentionMask Diffusion() => TrainingMasks.BlockDiffusion(SampleIds, Positions, B);

    [Fact]
    public void Clean_copy_never_attends_to_the_noised_copy()
    {
        var mask = Diffusion();
        for (int q = N; q < 2 * N; q++)
            for (int k = 0; k < N; k++)
                Assert.False(mask[q, k], $"clean {q - N} sees noised {k}");
    }

    [Fact]
    public void Noised_block_sees_earlier_clean_blocks_and_its_own_noised_block_only()
    {
        var mask = Diffusion();
        for (int q = 0; q < N; q++)
        {
            if (SampleIds[q] < 0) continue;
            for (int k = 0; k < N; k++)
            {
                bool sameSample = SampleIds[k] == SampleIds[q];
                Assert.Equal(sameSample && Positions[k] / B == Positions[q] / B, mask[q, k]);          // noised key
                Assert.Equal(sameSample && Positions[k] / B < Positions[q] / B, mask[q, N + k]);       // clean key
            }
        }
    }

    [Fact]
    public void Clean_copy_is_block_causal_inside_its_sample()
    {
        var mask = Diffusion();
        for (int q = 0; q < N; q++)
        {
            if (SampleIds[q] < 0) continue;
            for (int k = 0; k < N; k++)
                Assert.Equal(SampleIds[k] == SampleIds[q] && Positions[k] / B <= Positions[q] / B, mask[N + q, N + k]);
        }
    }

    [Fact]
    public void Samples_in_a_row_never_see_each_other_and_padding_sees_only_itself()
    {
        foreach (var mask in new[] { Diffusion(), TrainingMasks.Causal(SampleIds) })
        {
            for (int q = 0; q < mask.Size; q++)
                for (int k = 0; k < mask.Size; k++)
                {
                    int sq = SampleIds[q % N], sk = SampleIds[k % N];
                    if (sq != sk || sq < 0) Assert.True(!mask[q, k] || q == k, $"{q} sees {k} across samples");
                }
            Assert.True(mask[N - 1, N - 1]);
        }
    }

    [Fact]
    public void Causal_mask_sees_earlier_positions_of_the_same_sample()
    {
        var mask = TrainingMasks.Causal(SampleIds);
        Assert.True(mask[5, 0]);
        Assert.False(mask[4, 5]);
        Assert.False(mask[6, 5]);
        Assert.True(mask[10, 6]);
    }

    [Fact]
    public void Block_diffusion_batch_lays_out_noised_then_clean_with_equal_positions()
    {
        var row = new PackedRow([10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 0],
            [.. Enumerable.Repeat(true, 11), false], SampleIds, Positions);
        var batch = new BlockDiffusionObjective(B, maskTokenId: 99).Build([row], new DeterministicRandom(1));
        Assert.Equal(2 * N, batch.Length);
        for (int i = 0; i < N; i++)
        {
            Assert.Equal(row.Tokens[i], batch.InputIds[N + i]);
            Assert.Equal(Positions[i], batch.PositionIds[i]);
            Assert.Equal(Positions[i], batch.PositionIds[N + i]);
            Assert.True(batch.InputIds[i] == row.Tokens[i] || batch.InputIds[i] == 99);
        }
        // Every scored row is a masked noised position, predicting its own clean token (no shift).
        Assert.NotEmpty(batch.LossRows);
        for (int j = 0; j < batch.LossRows.Length; j++)
        {
            int i = (int)batch.LossRows[j];
            Assert.InRange(i, 0, N - 1);
            Assert.Equal(99, batch.InputIds[i]);
            Assert.Equal(row.Tokens[i], batch.Targets[j]);
        }
        Assert.Equal(11, batch.LabelCount);
    }
}
