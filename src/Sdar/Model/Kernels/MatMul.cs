using System.Runtime.CompilerServices;
using Sdar.Model.Kernels.Formats;

namespace Sdar.Model.Kernels;

/// <summary>
/// Y = X W^T for a Linear weight W (N, K) in its stored precision and float activations X (rows, K).
/// <para>
/// Batch invariance: every output Y[r, n] is one accumulator walked over K in the same order, whatever the number of
/// rows, the tile it falls in or the thread that computes it, so a sequence's numbers never depend on its batch.
/// </para>
/// <para>
/// Each storage format (BF16, F16, F32, and the group-quantized Q8_0 and Q4_0) has its own file under
/// <c>Formats/</c>, behind <see cref="IWeightFormat"/>: how a chunk of a row widens to floats, run by the one tiling
/// loop <see cref="TiledProduct{TRows}"/> (and, for int8 activations, <see cref="Q8Int8Product"/> and <see cref="Q4Int8Product"/>); this class
/// checks the buffers, dispatches by format and splits the output columns between the workers.
/// </para>
/// </summary>
public static unsafe class MatMul
{
    /// <summary>Every format tiles outputs in blocks of TileRows activation rows by TileCols weight rows.</summary>
    internal const int TileRows = 4, TileCols = 4;

    /// <summary>y (rows, N) = x (rows, K) times w (N, K) transposed.</summary>
    public static void Compute(KernelSettings settings, WeightTensor w, ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        fixed (float* yPtr = y)
        {
            if (y.Length < (long)rows * w.Rows) throw new ArgumentException("matmul output buffer too small");
            ComputeShared(settings, x, rows, [(w, (IntPtr)yPtr)]);
        }
    }

    /// <summary>
    /// y = x w^T, then <paramref name="then"/> on whole rows of y: run by the worker that wrote them when the product
    /// splits by rows (<see cref="SplitByRows"/>), so that a row-wise step after it (a residual add and the next RMS norm)
    /// keeps the row on that core and off the caller; otherwise once over all rows, on the caller, after the product.
    /// </summary>
    internal static void Compute(KernelSettings settings, WeightTensor w, float[] x, int rows, float[] y, RowsDone then)
    {
        ArgumentNullException.ThrowIfNull(then);
        int finished = 0;
        ComputeInto(settings, x, rows, [(w, y)], (firstRow, rowCount, start, end) =>
        {
            // A chunk of columns of every row (split by columns) waits for the product's end; whole rows go now.
            if (start != 0 || end != w.Rows) return;
            then(firstRow, rowCount);
            Interlocked.Add(ref finished, rowCount);
        });
        if (finished == 0) then(0, rows);
        else if (finished != rows) throw new InvalidOperationException($"the product finished {finished} of {rows} rows");
    }

    /// <summary>A row-wise step on rows [firstRow, firstRow + rowCount) of a product's output, all its columns written.</summary>
    internal delegate void RowsDone(int firstRow, int rowCount);

    /// <summary>
    /// Several products of the same input (q/k/v, or gate/up): the input is packed once and all outputs' column
    /// chunks go to the workers in one parallel dispatch, which halves the synchronisation of a T=1 forward.
    /// </summary>
    public static void Compute(KernelSettings settings, ReadOnlySpan<float> x, int rows, params ReadOnlySpan<(WeightTensor W, float[] Y)> products) =>
        ComputeInto(settings, x, rows, products, done: null);

    /// <summary>The products into managed arrays, pinned for the kernels, with <paramref name="done"/> run per chunk of columns.</summary>
    private static void ComputeInto(KernelSettings settings, ReadOnlySpan<float> x, int rows, ReadOnlySpan<(WeightTensor W, float[] Y)> products, OutputsDone? done)
    {
        var pinned = new System.Runtime.InteropServices.GCHandle[products.Length];
        var targets = new (WeightTensor, IntPtr)[products.Length];
        try
        {
            for (int i = 0; i < products.Length; i++)
            {
                if (products[i].Y.LongLength < (long)rows * products[i].W.Rows) throw new ArgumentException("matmul output buffer too small");
                pinned[i] = System.Runtime.InteropServices.GCHandle.Alloc(products[i].Y, System.Runtime.InteropServices.GCHandleType.Pinned);
                targets[i] = (products[i].W, pinned[i].AddrOfPinnedObject());
            }
            ComputeShared(settings, x, rows, targets, done);
        }
        finally
        {
            foreach (var handle in pinned) if (handle.IsAllocated) handle.Free();
        }
    }

    /// <summary>
    /// gate = silu(x Wg^T) * (x Wu^T), the SwiGLU of an MLP (<paramref name="up"/> receives x Wu^T). The workers apply
    /// the activation to each chunk of columns as soon as both products have written it, rather than the caller in one
    /// pass over (rows, intermediate) afterwards while the other workers wait (~5 % of a forward of sdar-mini on two
    /// threads). Element by element the same arithmetic as <see cref="VectorMath.SwiGlu"/> over the whole matrix.
    /// </summary>
    public static void ComputeSwiGlu(KernelSettings settings, ReadOnlySpan<float> x, int rows, WeightTensor gateWeights, float[] gate, WeightTensor upWeights, float[] up)
    {
        ArgumentNullException.ThrowIfNull(gateWeights);
        ArgumentNullException.ThrowIfNull(upWeights);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(up);
        int n = gateWeights.Rows;
        if (upWeights.Rows != n) throw new ArgumentException($"SwiGLU: gate has {n} outputs, up {upWeights.Rows}", nameof(upWeights));
        ComputeInto(settings, x, rows, [(gateWeights, gate), (upWeights, up)], (firstRow, rowCount, start, end) =>
        {
            for (int r = firstRow; r < firstRow + rowCount; r++)
                VectorMath.SwiGlu(gate.AsSpan(r * n + start, end - start), up.AsSpan(r * n + start, end - start));
        });
    }

    private static void ComputeShared(KernelSettings settings, ReadOnlySpan<float> x, int rows, ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, OutputsDone? done = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (rows == 0 || products.Length == 0) return;
        int k = products[0].W.Columns;
        var dtype = products[0].W.DType;
        foreach (var (w, _) in products)
            if (w.Columns != k || w.DType != dtype)
            {
                // Mixed shapes or precisions: one product at a time.
                foreach (var product in products) ComputeShared(settings, x, rows, [product]);
                done?.Invoke(0, rows, 0, products[0].W.Rows);
                return;
            }
        if (x.Length < (long)rows * k) throw new ArgumentException("matmul input buffer too small");
        fixed (float* xPtr = x)
        {
            WeightFormats.Of(dtype).Multiply(products, xPtr, rows, k, settings, done);
        }
    }

    /// <summary>
    /// y (rows, N) = x (rows, K) times w (N, K) transposed, for float matrices given as spans (attention scores).
    /// Single-threaded: the caller parallelises over heads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeF32(KernelSettings settings, ReadOnlySpan<float> w, int n, ReadOnlySpan<float> x, int rows, int k, Span<float> y)
    {
        fixed (float* wPtr = w)
        fixed (float* xPtr = x)
        fixed (float* yPtr = y)
            ComputeF32(settings, wPtr, n, xPtr, rows, k, yPtr, n);
    }

    /// <summary>
    /// y = x w^T for float matrices given as pointers, the output rows <paramref name="yStride"/> floats apart: the scores
    /// of one run of keys, written into the columns of the whole score matrix that belong to it. Single-threaded.
    /// </summary>
    internal static void ComputeF32(KernelSettings settings, float* w, int n, float* x, int rows, int k, float* y, int yStride) =>
        new TiledProduct<F32Format.Rows>(new F32Format.Rows(w, k), x, y, rows, n, k, settings.UseVector512, yStride).Columns(0, n);

    internal interface IJob
    {
        int N { get; }
        int Rows { get; }
        int K { get; }
        void Columns(int start, int end);

        /// <summary>Whether <see cref="RowColumns"/> can compute a range of rows alone.</summary>
        bool SplitsRows { get; }

        /// <summary>Rows first .. first + count - 1 of columns start .. end - 1 (the same chains as <see cref="Columns"/>).</summary>
        void RowColumns(int first, int count, int start, int end);
    }

    /// <summary>
    /// Called by the worker that computed them, once per block of outputs (rows [firstRow, firstRow + rowCount), columns
    /// [start, end)) after every product of a call has written it: a chunk of columns for all rows, or, split by rows, a
    /// worker's rows for all columns. An element-wise step that would otherwise be a serial pass over the outputs while
    /// the other workers wait (the SwiGLU of an MLP).
    /// </summary>
    internal delegate void OutputsDone(int firstRow, int rowCount, int start, int end);

    /// <summary>
    /// What must be done to the input before any product reads it (the BF16 pack), as <paramref name="Count"/> parts
    /// that the workers run at the start of the products' dispatch rather than the caller before it.
    /// </summary>
    internal readonly record struct Prologue(int Count, Action<int> Part);

    /// <summary>
    /// Splits every job's output columns into chunks (multiples of the column tile), enough to balance the workers,
    /// and runs all chunks of all jobs in one parallel loop. With <paramref name="done"/> the jobs share one N and each
    /// chunk is the same columns of every job, followed by <paramref name="done"/> on them. The parts of
    /// <paramref name="prologue"/> run first, in the same dispatch.
    /// <para>
    /// Small weights and enough rows (<see cref="SplitByRows"/>): one item per worker instead, each its share of the
    /// rows of every job, all columns, after its own part of the prologue and followed by <paramref name="done"/> on
    /// those rows. Every worker then reads all the weights (from the shared cache, where a small model's sit), but a
    /// row's packed input, outputs and SwiGLU stay on the core that made them: on two threads, forwards of sdar-mini at
    /// T = 8 / 16 / 32 / 64 took 5 / 9 / 5 / 5 % less (best of three alternating runs: 0.504 -> 0.475 ms, 1.020 ->
    /// 0.925, 1.98 -> 1.83, 4.11 -> 3.89), where splitting the columns had each worker read half its input, and write
    /// half of every output line the next product read, from the other core. Each output is the same chain either way.
    /// </para>
    /// </summary>
    internal static void Run<TJob>(TJob[] jobs, int threads, OutputsDone? done = null, Prologue prologue = default) where TJob : struct, IJob
    {
        long work = 0;
        int totalColumns = 0;
        foreach (var job in jobs)
        {
            work += (long)job.N * job.Rows * job.K;
            totalColumns += job.N;
        }
        if (done is not null)
            foreach (var job in jobs)
                if (job.N != jobs[0].N) throw new ArgumentException("products whose columns are finished together must have the same number of outputs", nameof(jobs));
        // Multiply-adds below which one dispatch to the workers costs more than it saves (about 10 us of work).
        if (threads <= 1 || work < 65_536)
        {
            for (int part = 0; part < prologue.Count; part++) prologue.Part(part);
            foreach (var job in jobs) job.Columns(0, job.N);
            done?.Invoke(0, jobs[0].Rows, 0, jobs[0].N);
            return;
        }
        int rows = jobs[0].Rows;
        if (SplitByRows(jobs, threads, prologue))
        {
            // Each worker its own rows of every product, all columns: it packs them, multiplies them and finishes them
            // (the SwiGLU), so none of them crosses to the other cores within the call.
            WorkerPool.For(threads, threads, part =>
            {
                if (prologue.Count == threads) prologue.Part(part);
                int first = (int)((long)rows * part / threads), count = (int)((long)rows * (part + 1) / threads) - first;
                foreach (var job in jobs) job.RowColumns(first, count, 0, job.N);
                done?.Invoke(first, count, 0, jobs[0].N);
            });
            return;
        }
        // Few rows: the product streams the weights once and is bandwidth-bound; long contiguous chunks per worker
        // keep the hardware prefetchers on one stream (measured 32 vs 30 GB/s against 8 chunks per worker). Up to
        // 8 rows the same: with the weights in cache a chunk of a small model is under a microsecond of work, and
        // claiming 8 per worker cost 4 % of a T = 8 forward of sdar-mini. Many rows: compute-bound, smaller chunks
        // balance the workers.
        int targetChunks = threads * (rows <= 2 * TileRows ? 2 : 8);
        if (done is not null)
        {
            int n = jobs[0].N;
            int perColumns = Math.Max(TileCols, (n + targetChunks - 1) / targetChunks / TileCols * TileCols);
            WorkerPool.For(prologue.Count, prologue.Part, (n + perColumns - 1) / perColumns, threads, c =>
            {
                int start = c * perColumns, end = Math.Min(n, start + perColumns);
                foreach (var job in jobs) job.Columns(start, end);
                done(0, rows, start, end);
            });
            return;
        }
        int perChunk = Math.Max(TileCols, (totalColumns + targetChunks - 1) / targetChunks / TileCols * TileCols);
        var chunks = new List<(int Job, int Start, int End)>();
        for (int j = 0; j < jobs.Length; j++)
            for (int start = 0; start < jobs[j].N; start += perChunk)
                chunks.Add((j, start, Math.Min(jobs[j].N, start + perChunk)));
        WorkerPool.For(prologue.Count, prologue.Part, chunks.Count, threads, c =>
        {
            var (job, start, end) = chunks[c];
            jobs[job].Columns(start, end);
        });
    }

    /// <summary>Products whose weights together are at most this many elements (1 MiB of BF16) may split by rows.</summary>
    private const long RowSplitMaxWeights = 1 << 19;

    /// <summary>
    /// Whether a call's products go to the workers by rows rather than by columns: small weights (which every worker then
    /// reads whole, from the shared cache), at least a tile of rows per worker, and a prologue, if any, in one part per
    /// worker over the same rows.
    /// </summary>
    private static bool SplitByRows<TJob>(TJob[] jobs, int threads, Prologue prologue) where TJob : struct, IJob
    {
        long weights = 0;
        foreach (var job in jobs)
        {
            if (!job.SplitsRows) return false;
            weights += (long)job.N * job.K;
        }
        return weights <= RowSplitMaxWeights && jobs[0].Rows >= TileRows * threads && (prologue.Count == 0 || prologue.Count == threads);
    }
}
