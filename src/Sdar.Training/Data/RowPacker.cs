namespace Sdar.Training.Data;

/// <summary>Packs samples into fixed-length rows (DESIGN section 3: samples never see each other inside a row).</summary>
public static class RowPacker
{
    /// <summary>Open rows first-fit packing considers at once; bounds the work on large corpora.</summary>
    private const int OpenRows = 64;

    /// <summary>
    /// Pretraining: samples one after another; a sample that does not fit the rest of a row is cut there and its
    /// remainder starts the next row as a sample of its own (positions restart at 0). Only the last row is padded.
    /// </summary>
    public static List<PackedRow> PackStream(IEnumerable<TrainingSample> samples, int rowLength, int padId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowLength, 1);
        var rows = new List<PackedRow>();
        var row = new RowBuilder(rowLength);
        foreach (var sample in samples)
        {
            int offset = 0;
            while (offset < sample.Length)
            {
                int take = Math.Min(sample.Length - offset, row.Free);
                row.Add(sample.Tokens.AsSpan(offset, take), sample.IsLabel.AsSpan(offset, take));
                offset += take;
                if (row.Free == 0)
                {
                    rows.Add(row.Build(padId));
                    row = new RowBuilder(rowLength);
                }
            }
        }
        if (row.Used > 0) rows.Add(row.Build(padId));
        return rows;
    }

    /// <summary>
    /// SFT: whole samples, first-fit into rows. A sample longer than a row is truncated. With
    /// <paramref name="padMultiple"/> B &gt; 1 (block diffusion), each sample is padded with <paramref name="padId"/>
    /// up to a multiple of B and those pad tokens are labels, which teaches a block to end with EOS (DESIGN section 3).
    /// </summary>
    public static List<PackedRow> PackWhole(IEnumerable<TrainingSample> samples, int rowLength, int padId, int padMultiple = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(padMultiple, 1);
        var rows = new List<PackedRow>();
        var open = new List<RowBuilder>();
        foreach (var raw in samples)
        {
            var sample = PadToMultiple(raw, padMultiple, padId, rowLength);
            var target = open.FirstOrDefault(r => r.Free >= sample.Length);
            if (target is null)
            {
                if (open.Count == OpenRows)
                {
                    rows.Add(open[0].Build(padId));
                    open.RemoveAt(0);
                }
                target = new RowBuilder(rowLength);
                open.Add(target);
            }
            target.Add(sample.Tokens, sample.IsLabel);
            if (target.Free == 0)
            {
                rows.Add(target.Build(padId));
                open.Remove(target);
            }
        }
        rows.AddRange(open.Select(r => r.Build(padId)));
        return rows;
    }

    /// <summary>Pads to a multiple of <paramref name="multiple"/> with label pad tokens, truncated to <paramref name="maxLength"/>.</summary>
    public static TrainingSample PadToMultiple(TrainingSample sample, int multiple, int padId, int maxLength)
    {
        int length = Math.Min((sample.Length + multiple - 1) / multiple * multiple, maxLength);
        if (length == sample.Length) return sample;
        var tokens = new int[length];
        var labels = new bool[length];
        int copy = Math.Min(sample.Length, length);
        sample.Tokens.AsSpan(0, copy).CopyTo(tokens);
        sample.IsLabel.AsSpan(0, copy).CopyTo(labels);
        for (int i = copy; i < length; i++)
        {
            tokens[i] = padId;
            labels[i] = true;
        }
        return new TrainingSample(tokens, labels);
    }

    private sealed class RowBuilder(int length)
    {
        private readonly int[] _tokens = new int[length];
        private readonly bool[] _labels = new bool[length];
        private readonly int[] _samples = Enumerable.Repeat(PackedRow.Padding, length).ToArray();
        private readonly int[] _positions = new int[length];
        private int _count;

        public int Used { get; private set; }
        public int Free => length - Used;

        public void Add(ReadOnlySpan<int> tokens, ReadOnlySpan<bool> labels)
        {
            for (int i = 0; i < tokens.Length; i++)
            {
                _tokens[Used + i] = tokens[i];
                _labels[Used + i] = labels[i];
                _samples[Used + i] = _count;
                _positions[Used + i] = i;
            }
            Used += tokens.Length;
            _count++;
        }

        public PackedRow Build(int padId)
        {
            for (int i = Used; i < length; i++) _tokens[i] = padId;
            return new PackedRow(_tokens, _labels, _samples, _positions);
        }
    }
}
