using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// What a storage format contributes to <see cref="TiledProduct{TRows}"/>: how a chunk of one weight row widens to
/// float registers. Implemented by small structs, so that the tiles are compiled once per format with the widening
/// inlined (no virtual calls in the loops).
/// </summary>
internal unsafe interface IWeightRows
{
    /// <summary>Inputs per step of the Vector512 tiles: 32 (two vectors per chunk) or 16 (one).</summary>
    static abstract int WideChunk { get; }

    /// <summary>Inputs per step of the Vector256 tiles: 16 (two vectors per chunk) or 8 (one).</summary>
    static abstract int NarrowChunk { get; }

    /// <summary>
    /// From this many activation rows on, each column tile's weight rows are widened to float once, into scratch,
    /// and run through the F32 tiles, rather than widened again for every four activation rows. The results are
    /// the same bits (the F32 chain over the same floats); only formats whose chunks end where F32's do (no tail,
    /// or a chunk of 16) may set it below <see cref="int.MaxValue"/>.
    /// </summary>
    static abstract int WidenFromRows { get; }

    /// <summary>
    /// Where weight row <paramref name="col"/> starts, in the format's own units (the tiles compute it once per
    /// row, not per chunk, and hand it back to the methods below).
    /// </summary>
    long Row(int col);

    /// <summary>
    /// Weights of <paramref name="row"/>, inputs <paramref name="c"/> onwards (a multiple of <see cref="WideChunk"/>),
    /// in the order of the activations the format's Multiply passes: First pairs with x[c .. c + 15], Second with
    /// x[c + 16 .. c + 31] (ignored for one-vector chunks).
    /// </summary>
    (Vector512<float> First, Vector512<float> Second) Wide(long row, int c);

    /// <summary>As <see cref="Wide"/> for eight lanes: First pairs with x[c .. c + 7], Second with x[c + 8 .. c + 15].</summary>
    (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c);

    /// <summary>Weight <paramref name="i"/> of <paramref name="row"/>, for inputs past the last whole chunk.</summary>
    float Scalar(long row, int i);

    /// <summary>
    /// Asks for the bytes of <paramref name="row"/> holding the chunk at <paramref name="c"/> (see Tile1x4), into L2
    /// (prefetcht1) and not L1: a column tile ahead is 4 rows of a few KB, which in the 32 KB L1 evicts the activations
    /// and the current rows; measured here, T = 1 products took 20-35 % less time with t1 than with t0.
    /// </summary>
    void Prefetch(long row, int c);
}

/// <summary>
/// y (rows, N) = x (rows, K) W^T for one weight matrix of any format: the output is tiled in blocks of four
/// activation rows by four weight rows (Vector512: 16 accumulators; Vector256: two blocks of 4 x 2), rows left over
/// take one row against four weight rows, and columns left over one output at a time.
/// <para>
/// Every output, in whichever tile, is the same chain: one accumulator of FMAs over the chunks in order (first
/// vector, then second), a lane sum, then the scalar tail past the last whole chunk added once. So results never
/// depend on the number of rows, the tile or the worker (batch invariance), and each format's results are those of
/// the F32 kernel over its widened weights.
/// </para>
/// </summary>
internal readonly unsafe struct TiledProduct<TRows>(TRows w, float* x, float* y, int rows, int n, int k, bool wide, int yStride = 0) : MatMul.IJob
    where TRows : struct, IWeightRows
{
    private const int TileRows = MatMul.TileRows, TileCols = MatMul.TileCols;

    /// <summary>Floats from one output row to the next: N unless the caller writes into a wider matrix (attention scores by runs of keys).</summary>
    private readonly int _yStride = yStride > 0 ? yStride : n;

    public int N => n;
    public int Rows => rows;
    public int K => k;
    public bool SplitsRows => true;

    public void RowColumns(int first, int count, int start, int end) =>
        new TiledProduct<TRows>(w, x + (long)first * k, y + (long)first * _yStride, count, n, k, wide, _yStride).Columns(start, end);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Columns(int start, int end)
    {
        if (rows >= TRows.WidenFromRows)
        {
            WidenedColumns(start, end);
            return;
        }
        int vectorEnd = wide ? k / TRows.WideChunk * TRows.WideChunk : k / TRows.NarrowChunk * TRows.NarrowChunk;
        int col = start;
        for (; col + TileCols <= end; col += TileCols)
        {
            int row = 0;
            if (wide)
            {
                for (; row + TileRows <= rows; row += TileRows) Tile4x4(col, row, vectorEnd);
                for (; row < rows; row++) Tile1x4(col, row, vectorEnd);
            }
            else
            {
                for (; row + TileRows <= rows; row += TileRows)
                {
                    Tile4x2Narrow(col, row, vectorEnd);
                    Tile4x2Narrow(col + 2, row, vectorEnd);
                }
                for (; row < rows; row++)
                    for (int j = 0; j < TileCols; j++) y[(long)row * _yStride + col + j] = Dot(col + j, row, vectorEnd);
            }
        }
        for (; col < end; col++)
            for (int row = 0; row < rows; row++) y[(long)row * _yStride + col] = Dot(col, row, vectorEnd);
    }

    /// <summary>Inputs per block of the Vector512 widened path: four rows of them stay in L1 next to the activations'.</summary>
    private const int Block = 512;

    /// <summary>
    /// See <see cref="IWeightRows.WidenFromRows"/>. Vector512, whole column tiles: the four rows are widened a block of
    /// inputs at a time and every row tile's accumulators carried from block to block in memory (stores and loads
    /// are exact), so each output is still the F32 chain over all of K while weights and activations are read from L1.
    /// </summary>
    private void WidenedColumns(int start, int end)
    {
        int vectorEnd = wide ? k / TRows.WideChunk * TRows.WideChunk : k / TRows.NarrowChunk * TRows.NarrowChunk;
        // Rented: a forward asks for thousands of these blocks, which would otherwise keep the GC busy.
        var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(TileCols * Math.Max(k, Block));
        var carried = System.Buffers.ArrayPool<float>.Shared.Rent(rows * TileCols * 16);
        try
        {
            fixed (float* block = scratch)
            fixed (float* accumulators = carried)
                for (int col = start; col < end; col += TileCols)
                {
                    int count = Math.Min(TileCols, end - col);
                    if (wide && count == TileCols)
                    {
                        BlockedTile(col, vectorEnd, block, accumulators);
                        continue;
                    }
                    for (int j = 0; j < count; j++) Widen(w.Row(col + j), block + (long)j * k, 0, vectorEnd);
                    for (int j = 0; j < count; j++)
                        for (int i = vectorEnd; i < k; i++) block[(long)j * k + i] = w.Scalar(w.Row(col + j), i);
                    // The block holds rows col .. col + count - 1: seen from the tiles, its base is row 0's.
                    var widened = new F32Format.Rows(block - (long)col * k, k);
                    new TiledProduct<F32Format.Rows>(widened, x, y, rows, n, k, wide, _yStride).Columns(col, col + count);
                }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            System.Buffers.ArrayPool<float>.Shared.Return(carried);
        }
    }

    /// <summary>Weights <paramref name="from"/> .. <paramref name="to"/> of one row as floats, in the order of the activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Widen(long row, float* destination, int from, int to, long prefetch = -1)
    {
        var weights = w;
        if (wide)
            for (int c = from; c < to; c += TRows.WideChunk)
            {
                if (prefetch >= 0) weights.Prefetch(prefetch, c);
                var (first, second) = weights.Wide(row, c);
                first.Store(destination + c - from);
                if (TRows.WideChunk == 32) second.Store(destination + c - from + 16);
            }
        else
            for (int c = from; c < to; c += TRows.NarrowChunk)
            {
                var (first, second) = weights.Narrow(row, c);
                first.Store(destination + c - from);
                if (TRows.NarrowChunk == 16) second.Store(destination + c - from + 8);
            }
    }

    /// <summary>
    /// One column tile of the blocked path: accumulators (row, column, 16 lanes) carried over the blocks. With four
    /// rows or more, the first row tile widens the block's weights in registers as it multiplies them and stores them
    /// for the other row tiles (<see cref="WideningRows"/>); fewer rows widen the block first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BlockedTile(int col, int vectorEnd, float* block, float* accumulators)
    {
        new Span<float>(accumulators, rows * TileCols * 16).Clear();
        long r0 = w.Row(col), r1 = w.Row(col + 1), r2 = w.Row(col + 2), r3 = w.Row(col + 3);
        // The next column tile's rows, fetched ahead as in Tile1x4 (the last tile fetches its own again): without it the
        // widening waited on memory at the start of every row (T = 16 products of Q8_0 weights took 18 % longer).
        int ahead = col + 2 * TileCols > n ? 0 : TileCols;
        long p0 = w.Row(col + ahead), p1 = w.Row(col + ahead + 1), p2 = w.Row(col + ahead + 2), p3 = w.Row(col + ahead + 3);
        for (int from = 0; from < vectorEnd; from += Block)
        {
            int to = Math.Min(vectorEnd, from + Block);
            int row = 0;
            if (rows >= TileRows)
            {
                WideningRows(block, from, to, accumulators, r0, r1, r2, r3, p0, p1, p2, p3);
                row = TileRows;
            }
            else
            {
                Widen(r0, block, from, to, p0);
                Widen(r1, block + Block, from, to, p1);
                Widen(r2, block + 2 * Block, from, to, p2);
                Widen(r3, block + 3 * Block, from, to, p3);
            }
            for (; row < rows; row += TileRows)
                BlockedRows(block, from, to, row, Math.Min(TileRows, rows - row), accumulators + row * TileCols * 16);
        }
        for (int row = 0; row < rows; row++)
        {
            float* a = accumulators + row * TileCols * 16;
            Store(row, col, vectorEnd, Vector512.Sum(Vector512.Load(a)), Vector512.Sum(Vector512.Load(a + 16)),
                Vector512.Sum(Vector512.Load(a + 32)), Vector512.Sum(Vector512.Load(a + 48)));
        }
    }

    /// <summary>
    /// Activation rows 0..3 by the four weight rows over inputs from .. to, widening each chunk in registers (as
    /// <see cref="Tile4x4"/> does) and storing it into the block for the row tiles after it. Widening in the same loop
    /// as the FMAs lets it run beside them: as a pass of its own before them, it added half of the FMAs' time to a T = 16
    /// product of Q8_0 weights. The FMAs are BlockedRows' (the same floats in the same order), so the bits are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WideningRows(float* block, int from, int to, float* a, long r0, long r1, long r2, long r3, long p0, long p1, long p2, long p3)
    {
        var weights = w;
        float* w0 = block - from, w1 = w0 + Block, w2 = w1 + Block, w3 = w2 + Block;
        float* x0 = x, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        float* a0 = a, a1 = a + 64, a2 = a + 128, a3 = a + 192;
        Vector512<float> a00 = Vector512.Load(a0), a01 = Vector512.Load(a0 + 16), a02 = Vector512.Load(a0 + 32), a03 = Vector512.Load(a0 + 48);
        Vector512<float> a10 = Vector512.Load(a1), a11 = Vector512.Load(a1 + 16), a12 = Vector512.Load(a1 + 32), a13 = Vector512.Load(a1 + 48);
        Vector512<float> a20 = Vector512.Load(a2), a21 = Vector512.Load(a2 + 16), a22 = Vector512.Load(a2 + 32), a23 = Vector512.Load(a2 + 48);
        Vector512<float> a30 = Vector512.Load(a3), a31 = Vector512.Load(a3 + 16), a32 = Vector512.Load(a3 + 32), a33 = Vector512.Load(a3 + 48);
        for (int c = from; c < to; c += TRows.WideChunk)
        {
            weights.Prefetch(p0, c);
            weights.Prefetch(p1, c);
            weights.Prefetch(p2, c);
            weights.Prefetch(p3, c);
            var (e0, o0) = weights.Wide(r0, c);
            var (e1, o1) = weights.Wide(r1, c);
            var (e2, o2) = weights.Wide(r2, c);
            var (e3, o3) = weights.Wide(r3, c);
            e0.Store(w0 + c); e1.Store(w1 + c); e2.Store(w2 + c); e3.Store(w3 + c);
            var xv = Vector512.Load(x0 + c);
            a00 = Vector512.FusedMultiplyAdd(e0, xv, a00); a01 = Vector512.FusedMultiplyAdd(e1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(e2, xv, a02); a03 = Vector512.FusedMultiplyAdd(e3, xv, a03);
            xv = Vector512.Load(x1 + c);
            a10 = Vector512.FusedMultiplyAdd(e0, xv, a10); a11 = Vector512.FusedMultiplyAdd(e1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(e2, xv, a12); a13 = Vector512.FusedMultiplyAdd(e3, xv, a13);
            xv = Vector512.Load(x2 + c);
            a20 = Vector512.FusedMultiplyAdd(e0, xv, a20); a21 = Vector512.FusedMultiplyAdd(e1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(e2, xv, a22); a23 = Vector512.FusedMultiplyAdd(e3, xv, a23);
            xv = Vector512.Load(x3 + c);
            a30 = Vector512.FusedMultiplyAdd(e0, xv, a30); a31 = Vector512.FusedMultiplyAdd(e1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(e2, xv, a32); a33 = Vector512.FusedMultiplyAdd(e3, xv, a33);
            if (TRows.WideChunk == 32)
            {
                o0.Store(w0 + c + 16); o1.Store(w1 + c + 16); o2.Store(w2 + c + 16); o3.Store(w3 + c + 16);
                xv = Vector512.Load(x0 + c + 16);
                a00 = Vector512.FusedMultiplyAdd(o0, xv, a00); a01 = Vector512.FusedMultiplyAdd(o1, xv, a01);
                a02 = Vector512.FusedMultiplyAdd(o2, xv, a02); a03 = Vector512.FusedMultiplyAdd(o3, xv, a03);
                xv = Vector512.Load(x1 + c + 16);
                a10 = Vector512.FusedMultiplyAdd(o0, xv, a10); a11 = Vector512.FusedMultiplyAdd(o1, xv, a11);
                a12 = Vector512.FusedMultiplyAdd(o2, xv, a12); a13 = Vector512.FusedMultiplyAdd(o3, xv, a13);
                xv = Vector512.Load(x2 + c + 16);
                a20 = Vector512.FusedMultiplyAdd(o0, xv, a20); a21 = Vector512.FusedMultiplyAdd(o1, xv, a21);
                a22 = Vector512.FusedMultiplyAdd(o2, xv, a22); a23 = Vector512.FusedMultiplyAdd(o3, xv, a23);
                xv = Vector512.Load(x3 + c + 16);
                a30 = Vector512.FusedMultiplyAdd(o0, xv, a30); a31 = Vector512.FusedMultiplyAdd(o1, xv, a31);
                a32 = Vector512.FusedMultiplyAdd(o2, xv, a32); a33 = Vector512.FusedMultiplyAdd(o3, xv, a33);
            }
        }
        a00.Store(a0); a01.Store(a0 + 16); a02.Store(a0 + 32); a03.Store(a0 + 48);
        a10.Store(a1); a11.Store(a1 + 16); a12.Store(a1 + 32); a13.Store(a1 + 48);
        a20.Store(a2); a21.Store(a2 + 16); a22.Store(a2 + 32); a23.Store(a2 + 48);
        a30.Store(a3); a31.Store(a3 + 16); a32.Store(a3 + 32); a33.Store(a3 + 48);
    }

    /// <summary>
    /// Up to four activation rows by the four widened rows over inputs from .. to: the F32 4x4 tile's FMAs (a row
    /// left over runs alone), starting from and going back to the carried accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BlockedRows(float* block, int from, int to, int row, int count, float* a)
    {
        float* w0 = block - from, w1 = w0 + Block, w2 = w1 + Block, w3 = w2 + Block;
        if (count < TileRows)
        {
            for (int i = 0; i < count; i++, a += TileCols * 16)
            {
                float* xr = x + (long)(row + i) * k;
                Vector512<float> b0 = Vector512.Load(a), b1 = Vector512.Load(a + 16), b2 = Vector512.Load(a + 32), b3 = Vector512.Load(a + 48);
                for (int c = from; c < to; c += 16)
                {
                    var xv = Vector512.Load(xr + c);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + c), xv, b0);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + c), xv, b1);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + c), xv, b2);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + c), xv, b3);
                }
                b0.Store(a); b1.Store(a + 16); b2.Store(a + 32); b3.Store(a + 48);
            }
            return;
        }
        float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        float* a0 = a, a1 = a + 64, a2 = a + 128, a3 = a + 192;
        Vector512<float> a00 = Vector512.Load(a0), a01 = Vector512.Load(a0 + 16), a02 = Vector512.Load(a0 + 32), a03 = Vector512.Load(a0 + 48);
        Vector512<float> a10 = Vector512.Load(a1), a11 = Vector512.Load(a1 + 16), a12 = Vector512.Load(a1 + 32), a13 = Vector512.Load(a1 + 48);
        Vector512<float> a20 = Vector512.Load(a2), a21 = Vector512.Load(a2 + 16), a22 = Vector512.Load(a2 + 32), a23 = Vector512.Load(a2 + 48);
        Vector512<float> a30 = Vector512.Load(a3), a31 = Vector512.Load(a3 + 16), a32 = Vector512.Load(a3 + 32), a33 = Vector512.Load(a3 + 48);
        for (int c = from; c < to; c += 16)
        {
            var e0 = Vector512.Load(w0 + c); var e1 = Vector512.Load(w1 + c);
            var e2 = Vector512.Load(w2 + c); var e3 = Vector512.Load(w3 + c);
            var xv = Vector512.Load(x0 + c);
            a00 = Vector512.FusedMultiplyAdd(e0, xv, a00); a01 = Vector512.FusedMultiplyAdd(e1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(e2, xv, a02); a03 = Vector512.FusedMultiplyAdd(e3, xv, a03);
            xv = Vector512.Load(x1 + c);
            a10 = Vector512.FusedMultiplyAdd(e0, xv, a10); a11 = Vector512.FusedMultiplyAdd(e1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(e2, xv, a12); a13 = Vector512.FusedMultiplyAdd(e3, xv, a13);
            xv = Vector512.Load(x2 + c);
            a20 = Vector512.FusedMultiplyAdd(e0, xv, a20); a21 = Vector512.FusedMultiplyAdd(e1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(e2, xv, a22); a23 = Vector512.FusedMultiplyAdd(e3, xv, a23);
            xv = Vector512.Load(x3 + c);
            a30 = Vector512.FusedMultiplyAdd(e0, xv, a30); a31 = Vector512.FusedMultiplyAdd(e1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(e2, xv, a32); a33 = Vector512.FusedMultiplyAdd(e3, xv, a33);
        }
        a00.Store(a0); a01.Store(a0 + 16); a02.Store(a0 + 32); a03.Store(a0 + 48);
        a10.Store(a1); a11.Store(a1 + 16); a12.Store(a1 + 32); a13.Store(a1 + 48);
        a20.Store(a2); a21.Store(a2 + 16); a22.Store(a2 + 32); a23.Store(a2 + 48);
        a30.Store(a3); a31.Store(a3 + 16); a32.Store(a3 + 32); a33.Store(a3 + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Tail(int col, int row, int vectorEnd)
    {
        var weights = w;
        float* xr = x + (long)row * k;
        float sum = 0;
        long r = weights.Row(col);
        for (int i = vectorEnd; i < k; i++) sum += weights.Scalar(r, i) * xr[i];
        return sum;
    }

    /// <summary>One output: the chain every tile computes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Dot(int col, int row, int vectorEnd)
    {
        var weights = w;
        float* xr = x + (long)row * k;
        long r = weights.Row(col);
        if (wide)
        {
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < vectorEnd; c += TRows.WideChunk)
            {
                var (first, second) = weights.Wide(r, c);
                acc = Vector512.FusedMultiplyAdd(first, Vector512.Load(xr + c), acc);
                if (TRows.WideChunk == 32) acc = Vector512.FusedMultiplyAdd(second, Vector512.Load(xr + c + 16), acc);
            }
            return Vector512.Sum(acc) + Tail(col, row, vectorEnd);
        }
        else
        {
            var acc = Vector256<float>.Zero;
            for (int c = 0; c < vectorEnd; c += TRows.NarrowChunk)
            {
                var (first, second) = weights.Narrow(r, c);
                acc = Vector256.FusedMultiplyAdd(first, Vector256.Load(xr + c), acc);
                if (TRows.NarrowChunk == 16) acc = Vector256.FusedMultiplyAdd(second, Vector256.Load(xr + c + 8), acc);
            }
            return Vector256.Sum(acc) + Tail(col, row, vectorEnd);
        }
    }

    /// <summary>One activation row against four weight rows (the T = 1 path, bandwidth-bound).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile1x4(int col, int row, int vectorEnd)
    {
        var weights = w;
        long r0 = weights.Row(col), r1 = weights.Row(col + 1), r2 = weights.Row(col + 2), r3 = weights.Row(col + 3);
        long next0 = weights.Row(col + 4), next1 = weights.Row(col + 5), next2 = weights.Row(col + 6), next3 = weights.Row(col + 7);
        float* xr = x + (long)row * k;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < vectorEnd; c += TRows.WideChunk)
        {
            // The next column tile's rows follow these four in memory: fetch them ahead, so that each row (a few
            // KB, where hardware prefetchers restart at every page) is already on its way when the tile reaches it.
            weights.Prefetch(next0, c);
            weights.Prefetch(next1, c);
            weights.Prefetch(next2, c);
            weights.Prefetch(next3, c);
            var (e0, o0) = weights.Wide(r0, c);
            var (e1, o1) = weights.Wide(r1, c);
            var (e2, o2) = weights.Wide(r2, c);
            var (e3, o3) = weights.Wide(r3, c);
            var xv = Vector512.Load(xr + c);
            a0 = Vector512.FusedMultiplyAdd(e0, xv, a0);
            a1 = Vector512.FusedMultiplyAdd(e1, xv, a1);
            a2 = Vector512.FusedMultiplyAdd(e2, xv, a2);
            a3 = Vector512.FusedMultiplyAdd(e3, xv, a3);
            if (TRows.WideChunk == 32)
            {
                xv = Vector512.Load(xr + c + 16);
                a0 = Vector512.FusedMultiplyAdd(o0, xv, a0);
                a1 = Vector512.FusedMultiplyAdd(o1, xv, a1);
                a2 = Vector512.FusedMultiplyAdd(o2, xv, a2);
                a3 = Vector512.FusedMultiplyAdd(o3, xv, a3);
            }
        }
        if (LaneSums.IsSupported && vectorEnd == k)
            LaneSums.Of4(a0, a1, a2, a3).Store(y + (long)row * _yStride + col);
        else
            Store(row, col, vectorEnd, Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3));
    }

    /// <summary>Four activation rows by four weight rows: each chunk is widened once for four rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x4(int col, int row, int vectorEnd)
    {
        var weights = w;   // a local copy: its fields stay in registers
        long r0 = weights.Row(col), r1 = weights.Row(col + 1), r2 = weights.Row(col + 2), r3 = weights.Row(col + 3);
        long next0 = weights.Row(col + 4), next1 = weights.Row(col + 5), next2 = weights.Row(col + 6), next3 = weights.Row(col + 7);
        float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int c = 0; c < vectorEnd; c += TRows.WideChunk)
        {
            weights.Prefetch(next0, c);   // the next column tile, as in Tile1x4
            weights.Prefetch(next1, c);
            weights.Prefetch(next2, c);
            weights.Prefetch(next3, c);
            var (e0, o0) = weights.Wide(r0, c);
            var (e1, o1) = weights.Wide(r1, c);
            var (e2, o2) = weights.Wide(r2, c);
            var (e3, o3) = weights.Wide(r3, c);
            var xv = Vector512.Load(x0 + c);
            a00 = Vector512.FusedMultiplyAdd(e0, xv, a00); a01 = Vector512.FusedMultiplyAdd(e1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(e2, xv, a02); a03 = Vector512.FusedMultiplyAdd(e3, xv, a03);
            xv = Vector512.Load(x1 + c);
            a10 = Vector512.FusedMultiplyAdd(e0, xv, a10); a11 = Vector512.FusedMultiplyAdd(e1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(e2, xv, a12); a13 = Vector512.FusedMultiplyAdd(e3, xv, a13);
            xv = Vector512.Load(x2 + c);
            a20 = Vector512.FusedMultiplyAdd(e0, xv, a20); a21 = Vector512.FusedMultiplyAdd(e1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(e2, xv, a22); a23 = Vector512.FusedMultiplyAdd(e3, xv, a23);
            xv = Vector512.Load(x3 + c);
            a30 = Vector512.FusedMultiplyAdd(e0, xv, a30); a31 = Vector512.FusedMultiplyAdd(e1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(e2, xv, a32); a33 = Vector512.FusedMultiplyAdd(e3, xv, a33);
            if (TRows.WideChunk == 32)
            {
                xv = Vector512.Load(x0 + c + 16);
                a00 = Vector512.FusedMultiplyAdd(o0, xv, a00); a01 = Vector512.FusedMultiplyAdd(o1, xv, a01);
                a02 = Vector512.FusedMultiplyAdd(o2, xv, a02); a03 = Vector512.FusedMultiplyAdd(o3, xv, a03);
                xv = Vector512.Load(x1 + c + 16);
                a10 = Vector512.FusedMultiplyAdd(o0, xv, a10); a11 = Vector512.FusedMultiplyAdd(o1, xv, a11);
                a12 = Vector512.FusedMultiplyAdd(o2, xv, a12); a13 = Vector512.FusedMultiplyAdd(o3, xv, a13);
                xv = Vector512.Load(x2 + c + 16);
                a20 = Vector512.FusedMultiplyAdd(o0, xv, a20); a21 = Vector512.FusedMultiplyAdd(o1, xv, a21);
                a22 = Vector512.FusedMultiplyAdd(o2, xv, a22); a23 = Vector512.FusedMultiplyAdd(o3, xv, a23);
                xv = Vector512.Load(x3 + c + 16);
                a30 = Vector512.FusedMultiplyAdd(o0, xv, a30); a31 = Vector512.FusedMultiplyAdd(o1, xv, a31);
                a32 = Vector512.FusedMultiplyAdd(o2, xv, a32); a33 = Vector512.FusedMultiplyAdd(o3, xv, a33);
            }
        }
        if (LaneSums.IsSupported && vectorEnd == k)
        {
            // All 16 lane sums in 15 vector steps, the bits of Vector512.Sum (at small K they cost as much as the FMAs).
            StoreTile(row, col, LaneSums.Of16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33));
            return;
        }
        // Lane sums first: no call may happen while the 16 accumulators are live, or the JIT spills them
        // to the stack on every iteration of the loop above.
        float s00 = Vector512.Sum(a00), s01 = Vector512.Sum(a01), s02 = Vector512.Sum(a02), s03 = Vector512.Sum(a03);
        float s10 = Vector512.Sum(a10), s11 = Vector512.Sum(a11), s12 = Vector512.Sum(a12), s13 = Vector512.Sum(a13);
        float s20 = Vector512.Sum(a20), s21 = Vector512.Sum(a21), s22 = Vector512.Sum(a22), s23 = Vector512.Sum(a23);
        float s30 = Vector512.Sum(a30), s31 = Vector512.Sum(a31), s32 = Vector512.Sum(a32), s33 = Vector512.Sum(a33);
        Store(row, col, vectorEnd, s00, s01, s02, s03);
        Store(row + 1, col, vectorEnd, s10, s11, s12, s13);
        Store(row + 2, col, vectorEnd, s20, s21, s22, s23);
        Store(row + 3, col, vectorEnd, s30, s31, s32, s33);
    }

    /// <summary>The Vector256 tile (machines without AVX-512): 4 rows x 2 columns, 8 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x2Narrow(int col, int row, int vectorEnd)
    {
        var weights = w;
        long r0 = weights.Row(col), r1 = weights.Row(col + 1);
        float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int c = 0; c < vectorEnd; c += TRows.NarrowChunk)
        {
            var (e0, o0) = weights.Narrow(r0, c);
            var (e1, o1) = weights.Narrow(r1, c);
            var xv = Vector256.Load(x0 + c);
            a00 = Vector256.FusedMultiplyAdd(e0, xv, a00); a01 = Vector256.FusedMultiplyAdd(e1, xv, a01);
            xv = Vector256.Load(x1 + c);
            a10 = Vector256.FusedMultiplyAdd(e0, xv, a10); a11 = Vector256.FusedMultiplyAdd(e1, xv, a11);
            xv = Vector256.Load(x2 + c);
            a20 = Vector256.FusedMultiplyAdd(e0, xv, a20); a21 = Vector256.FusedMultiplyAdd(e1, xv, a21);
            xv = Vector256.Load(x3 + c);
            a30 = Vector256.FusedMultiplyAdd(e0, xv, a30); a31 = Vector256.FusedMultiplyAdd(e1, xv, a31);
            if (TRows.NarrowChunk == 16)
            {
                xv = Vector256.Load(x0 + c + 8);
                a00 = Vector256.FusedMultiplyAdd(o0, xv, a00); a01 = Vector256.FusedMultiplyAdd(o1, xv, a01);
                xv = Vector256.Load(x1 + c + 8);
                a10 = Vector256.FusedMultiplyAdd(o0, xv, a10); a11 = Vector256.FusedMultiplyAdd(o1, xv, a11);
                xv = Vector256.Load(x2 + c + 8);
                a20 = Vector256.FusedMultiplyAdd(o0, xv, a20); a21 = Vector256.FusedMultiplyAdd(o1, xv, a21);
                xv = Vector256.Load(x3 + c + 8);
                a30 = Vector256.FusedMultiplyAdd(o0, xv, a30); a31 = Vector256.FusedMultiplyAdd(o1, xv, a31);
            }
        }
        float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11);
        float s20 = Vector256.Sum(a20), s21 = Vector256.Sum(a21), s30 = Vector256.Sum(a30), s31 = Vector256.Sum(a31);
        Store2(row, col, vectorEnd, s00, s01);
        Store2(row + 1, col, vectorEnd, s10, s11);
        Store2(row + 2, col, vectorEnd, s20, s21);
        Store2(row + 3, col, vectorEnd, s30, s31);
    }

    private void Store2(int row, int col, int vectorEnd, float s0, float s1)
    {
        float* yr = y + (long)row * _yStride + col;
        if (vectorEnd == k)
        {
            yr[0] = s0; yr[1] = s1;
            return;
        }
        yr[0] = s0 + Tail(col, row, vectorEnd);
        yr[1] = s1 + Tail(col + 1, row, vectorEnd);
    }

    /// <summary>A 4 x 4 tile of outputs, lanes in (row, column) order, into rows row..row+3 at column col.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreTile(int row, int col, Vector512<float> sums)
    {
        float* yr = y + (long)row * _yStride + col;
        sums.GetLower().GetLower().Store(yr);
        sums.GetLower().GetUpper().Store(yr + _yStride);
        sums.GetUpper().GetLower().Store(yr + 2L * _yStride);
        sums.GetUpper().GetUpper().Store(yr + 3L * _yStride);
    }

    private void Store(int row, int col, int vectorEnd, float s0, float s1, float s2, float s3)
    {
        float* yr = y + (long)row * _yStride + col;
        if (vectorEnd == k)
        {
            yr[0] = s0; yr[1] = s1; yr[2] = s2; yr[3] = s3;
            return;
        }
        yr[0] = s0 + Tail(col, row, vectorEnd);
        yr[1] = s1 + Tail(col + 1, row, vectorEnd);
        yr[2] = s2 + Tail(col + 2, row, vectorEnd);
        yr[3] = s3 + Tail(col + 3, row, vectorEnd);
    }
}
