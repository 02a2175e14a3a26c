namespace Sdar.Model.Kernels.Formats;

/// <summary>What <see cref="ScaledTiles.Run{TTiles}"/> drives: an integer kernel whose tiles read per-row scale buffers.</summary>
internal unsafe interface IScaledTiles
{
    /// <summary>Floats one weight row's scale buffer takes (the buffer holds four).</summary>
    int ScaleStride { get; }

    /// <summary>Weight row <paramref name="col"/>'s scales into <paramref name="target"/>, as the four-row tile reads them.</summary>
    void WeightScales(int col, float* target);

    /// <summary>Four activation rows from <paramref name="row"/> by weight rows <paramref name="col"/> and + 1, with their scale buffers.</summary>
    void Tile4x2(int col, int row, float* scales0, float* scales1);

    /// <summary>Activation row <paramref name="row"/> by weight rows <paramref name="col"/>..+3; it fills the four scale buffers itself.</summary>
    void Tile1x4(int col, int row, float* scales);
}

/// <summary>
/// The column loop of the integer kernels (<see cref="Q8Int8Product"/>, <see cref="Q4Int8Product"/>): per four weight
/// rows, two at a time have their scales converted once and meet every whole block of four activation rows
/// (<see cref="IScaledTiles.Tile4x2"/>), and the activation rows left over take the one-row tile.
/// </summary>
internal static unsafe class ScaledTiles
{
    /// <summary>Runs the tiles over columns start.. in steps of four; returns the first column it left to the caller.</summary>
    public static int Run<TTiles>(in TTiles tiles, int start, int end, int rows) where TTiles : struct, IScaledTiles
    {
        int col = start, stride = tiles.ScaleStride;
        if (end - start < 4) return col;
        var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(4 * stride);
        try
        {
            fixed (float* scales = buffer)
                for (; col + 4 <= end; col += 4)
                {
                    int row = 0;
                    if (rows >= 4)
                    {
                        tiles.WeightScales(col, scales);
                        tiles.WeightScales(col + 1, scales + stride);
                        for (; row + 4 <= rows; row += 4) tiles.Tile4x2(col, row, scales, scales + stride);
                        tiles.WeightScales(col + 2, scales);
                        tiles.WeightScales(col + 3, scales + stride);
                        for (row = 0; row + 4 <= rows; row += 4) tiles.Tile4x2(col + 2, row, scales, scales + stride);
                    }
                    for (; row < rows; row++) tiles.Tile1x4(col, row, scales);
                }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
        return col;
    }
}
