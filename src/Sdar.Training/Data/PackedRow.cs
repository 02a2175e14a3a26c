namespace Sdar.Training.Data;

/// <summary>
/// One training sample: its tokens and which of them are labels (scored by the loss). Pretraining text is all
/// labels; in SFT only the assistant's tokens are (DESIGN section 3).
/// </summary>
public sealed record TrainingSample(int[] Tokens, bool[] IsLabel)
{
    public int Length => Tokens.Length;

    /// <summary>A sample whose every token is a label.</summary>
    public static TrainingSample AllLabels(int[] tokens) => new(tokens, Enumerable.Repeat(true, tokens.Length).ToArray());
}

/// <summary>
/// A fixed-length row of packed samples. <see cref="SampleIds"/> numbers the samples in the row (0, 1, ...), -1 on
/// padding after the last one; <see cref="Positions"/> restart at 0 for each sample, so blocks align to each
/// sample's start and RoPE sees every sample as if alone.
/// </summary>
public sealed record PackedRow(int[] Tokens, bool[] IsLabel, int[] SampleIds, int[] Positions)
{
    public const int Padding = -1;

    public int Length => Tokens.Length;

    /// <summary>The (start, length) of each sample in the row, in order.</summary>
    public IEnumerable<(int Start, int Length)> Segments()
    {
        int i = 0;
        while (i < Length)
        {
            if (SampleIds[i] == Padding) { i++; continue; }
            int start = i;
            while (i < Length && SampleIds[i] == SampleIds[start]) i++;
            yield return (start, i - start);
        }
    }

    /// <summary>Number of label tokens in the row.</summary>
    public int LabelCount => IsLabel.Count(b => b);
}
