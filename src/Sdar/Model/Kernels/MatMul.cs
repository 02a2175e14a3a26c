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
    /// Several products of the same input (q/k/v, or gate/up): the input is packed once and all outputs' column
    /// chunks go to the workers in one parallel dispatch, which halves the synchronisation of a T=1 forward.
    /// </summary>
    public static void Compute(KernelSettings settings, ReadOnlySpan<float> x, int rows, params ReadOnlySpan<(WeightTensor W, float[] Y)> products)
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
            ComputeShared(settings, x, rows, targets);
        }
        finally
        {
            foreach (var handle in pinned) if (handle.IsAllocated) handle.Free();
        }
    }

    private static void ComputeShared(KernelSettings settings, ReadOnlySpan<float> x, int rows, ReadOnlySpan<(WeightTensor W, IntPtr Y)> products)
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
                return;
            }
        if (x.Length < (long)rows * k) throw new ArgumentException("matmul input buffer too small");
        fixed (float* xPtr = x)
        {
            WeightFormats.Of(dtype).Multiply(products, xPtr, rows, k, settings);
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
        {
            new TiledProduct<F32Format.Rows>(new F32Format.Rows(wPtr, k), xPtr, yPtr, rows, n, k, settings.UseVector512).Columns(0, n);
        }
    }

    internal interface IJob
    {
        int N { get; }
        int Rows { get; }
        int K { get; }
        void Columns(int start, int end);
    }

    /// <summary>
    /// Splits every job's output columns into chunks (multiples of the column tile), enough to balance the workers,
    /// and runs all chunks of all jobs in one parallel loop.
    /// </summary>
    internal static void Run<TJob>(TJob[] jobs, int threads) where TJob : struct, IJob
    {
        long work = 0;
        int totalColumns = 0;
        foreach (var job in jobs)
        {
            work += (long)job.N * job.Rows * job.K;
            totalColumns += job.N;
        }
        // Multiply-adds below which one dispatch to the workers costs more than it saves (about 10 us of work).
        if (threads <= 1 || work < 65_536)
        {
            foreach (var job in jobs) job.Columns(0, job.N);
            return;
        }
        // Few rows: the product streams the weights once and is bandwidth-bound; long contiguous chunks per worker
        // keep the hardware prefetchers on one stream (measured 32 vs 30 GB/s against 8 chunks per worker).
        // Many rows: compute-bound, smaller chunks balance the workers.
        int rows = jobs[0].Rows;
        int targetChunks = threads * (rows <= TileRows ? 2 : 8);
        int perChunk = Math.Max(TileCols, (totalColumns + targetChunks - 1) / targetChunks / TileCols * TileCols);
        var chunks = new List<(int Job, int Start, int End)>();
        for (int j = 0; j < jobs.Length; j++)
            for (int start = 0; start < jobs[j].N; start += perChunk)
                chunks.Add((j, start, Math.Min(jobs[j].N, start + perChunk)));
        WorkerPool.For(chunks.Count, threads, c =>
        {
            var (job, start, end) = chunks[c];
            jobs[job].Columns(start, end);
        });
    }
}
