namespace Sdar.Training.Data;

/// <summary>Where a <see cref="PackedRowSource"/> stands: the epoch and the next row in it. Saved with checkpoints.</summary>
public sealed record DataPosition(int Epoch, int Row);

/// <summary>
/// An endless, deterministic stream of packed rows: epoch e packs the samples in an order shuffled by (seed, e).
/// The rows of any epoch can be rebuilt from the samples and the seed, so <see cref="Position"/> alone restores
/// the stream exactly after a resume.
/// </summary>
public sealed class PackedRowSource
{
    private readonly IReadOnlyList<TrainingSample> _samples;
    private readonly Func<IEnumerable<TrainingSample>, List<PackedRow>> _pack;
    private readonly long _seed;
    private readonly bool _shuffle;
    private List<PackedRow>? _rows;
    private int _rowsEpoch = -1;

    public PackedRowSource(IReadOnlyList<TrainingSample> samples, Func<IEnumerable<TrainingSample>, List<PackedRow>> pack, long seed, bool shuffle = true)
    {
        if (samples.Count == 0) throw new ArgumentException("no training samples", nameof(samples));
        _samples = samples;
        _pack = pack;
        _seed = seed;
        _shuffle = shuffle;
        Position = new DataPosition(0, 0);
    }

    public DataPosition Position { get; set; }

    /// <summary>Rows in one pass over the samples (epoch 0's packing).</summary>
    public int RowsPerEpoch => RowsOf(0).Count;

    public PackedRow Next()
    {
        var rows = RowsOf(Position.Epoch);
        if (Position.Row >= rows.Count)
        {
            Position = new DataPosition(Position.Epoch + 1, 0);
            rows = RowsOf(Position.Epoch);
        }
        var row = rows[Position.Row];
        Position = Position with { Row = Position.Row + 1 };
        return row;
    }

    public List<PackedRow> Take(int count) => Enumerable.Range(0, count).Select(_ => Next()).ToList();

    private List<PackedRow> RowsOf(int epoch)
    {
        if (_rowsEpoch == epoch) return _rows!;
        var order = Enumerable.Range(0, _samples.Count).ToArray();
        if (_shuffle) new DeterministicRandom(_seed, 0x5EED, epoch).Shuffle(order);
        _rows = _pack(order.Select(i => _samples[i]));
        if (_rows.Count == 0) throw new InvalidOperationException("packing produced no rows");
        _rowsEpoch = epoch;
        return _rows;
    }
}
