using Sdar.Training.Data;

namespace Sdar.Training.Objectives;

/// <summary>
/// Next-token cross-entropy with a causal mask (the AR model's objective, DESIGN section 3). Position i of a sample
/// is scored against token i+1 of the same sample when that token is a label; a sample's last token predicts
/// nothing, so packed samples never learn across their boundary.
/// </summary>
public sealed class AutoregressiveObjective : ITrainingObjective
{
    public string Name => "ar";

    public ObjectiveBatch Build(IReadOnlyList<PackedRow> rows, DeterministicRandom random)
    {
        int length = rows[0].Length;
        var ids = new long[rows.Count * length];
        var positions = new long[rows.Count * length];
        var mask = new bool[rows.Count * length * length];
        var lossRows = new List<long>();
        var targets = new List<long>();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.Length != length) throw new ArgumentException($"row {r} has length {row.Length}, expected {length}", nameof(rows));
            TrainingMasks.Causal(row.SampleIds).Data.CopyTo(mask, r * length * length);
            for (int i = 0; i < length; i++)
            {
                ids[r * length + i] = row.Tokens[i];
                positions[r * length + i] = row.Positions[i];
                bool nextInSample = i + 1 < length && row.SampleIds[i] != PackedRow.Padding && row.SampleIds[i + 1] == row.SampleIds[i];
                if (nextInSample && row.IsLabel[i + 1])
                {
                    lossRows.Add(r * length + i);
                    targets.Add(row.Tokens[i + 1]);
                }
            }
        }
        var weights = Enumerable.Repeat(1f, lossRows.Count).ToArray();
        return new ObjectiveBatch(rows.Count, length, ids, positions, mask, [.. lossRows], [.. targets], weights, lossRows.Count);
    }
}
