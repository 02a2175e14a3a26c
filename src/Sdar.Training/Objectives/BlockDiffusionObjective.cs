using Sdar.Training.Data;

namespace Sdar.Training.Objectives;

/// <summary>
/// SDAR's block diffusion loss (DESIGN section 3). Each packed sample of length n is laid out twice, as
/// <c>[x_t, x_0]</c> (the row becomes 2L long) with the mask of <see cref="TrainingMasks.BlockDiffusion"/>. Per sample
/// one noise level t ~ U(0,1) gives p = (1 - eps) t + eps; each label token is masked with probability p (prompt
/// tokens never are). The loss is the cross-entropy at the masked noised positions, predicting the token itself
/// (no shift), weighted by 1/p, over the number of label tokens.
/// </summary>
public sealed class BlockDiffusionObjective : ITrainingObjective
{
    public const double DefaultEpsilon = 1e-3;
    /// <summary>Draws of (t, masks) before one label token is forced masked, so that every sample with labels is scored.</summary>
    public const int MaxRedraws = 10;

    public BlockDiffusionObjective(int blockLength, int maskTokenId, double epsilon = DefaultEpsilon)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLength, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maskTokenId);
        BlockLength = blockLength;
        MaskTokenId = maskTokenId;
        Epsilon = epsilon;
    }

    public int BlockLength { get; }
    public int MaskTokenId { get; }
    public double Epsilon { get; }
    public string Name => "block-diffusion";

    /// <summary>The noise of one row: which positions are masked, and p per position (0 outside samples).</summary>
    public (bool[] Masked, double[] P) DrawNoise(PackedRow row, DeterministicRandom random)
    {
        var masked = new bool[row.Length];
        var p = new double[row.Length];
        foreach (var (start, length) in row.Segments())
        {
            var labels = Enumerable.Range(start, length).Where(i => row.IsLabel[i]).ToArray();
            if (labels.Length == 0) continue;
            double level = 0;
            bool any = false;
            for (int draw = 0; draw < MaxRedraws && !any; draw++)
            {
                level = (1 - Epsilon) * random.NextDouble() + Epsilon;
                foreach (int i in labels)
                {
                    masked[i] = random.NextDouble() < level;
                    any |= masked[i];
                }
            }
            if (!any) masked[labels[random.Next(labels.Length)]] = true;
            for (int i = start; i < start + length; i++) p[i] = level;
        }
        return (masked, p);
    }

    public ObjectiveBatch Build(IReadOnlyList<PackedRow> rows, DeterministicRandom random)
    {
        int n = rows[0].Length, length = 2 * n;
        var ids = new long[rows.Count * length];
        var positions = new long[rows.Count * length];
        var mask = new bool[rows.Count * length * length];
        var lossRows = new List<long>();
        var targets = new List<long>();
        var weights = new List<float>();
        int labelCount = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.Length != n) throw new ArgumentException($"row {r} has length {row.Length}, expected {n}", nameof(rows));
            var (masked, p) = DrawNoise(row, random);
            TrainingMasks.BlockDiffusion(row.SampleIds, row.Positions, BlockLength).Data.CopyTo(mask, r * length * length);
            int offset = r * length;
            for (int i = 0; i < n; i++)
            {
                ids[offset + i] = masked[i] ? MaskTokenId : row.Tokens[i];      // x_t
                ids[offset + n + i] = row.Tokens[i];                             // x_0
                positions[offset + i] = positions[offset + n + i] = row.Positions[i];
                if (row.IsLabel[i]) labelCount++;
                if (!masked[i]) continue;
                lossRows.Add(offset + i);
                targets.Add(row.Tokens[i]);
                weights.Add((float)(1.0 / p[i]));
            }
        }
        return new ObjectiveBatch(rows.Count, length, ids, positions, mask, [.. lossRows], [.. targets], [.. weights], labelCount);
    }
}
