using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// BF16 weights: widened in registers without shuffles: a 32-bit lane holding two bf16 values gives the odd
/// element by masking the low half and the even element by shifting left 16. The activations are packed once per
/// call into the matching (evens, odds) order per chunk of 2 x lanes, so the dot product needs no permutes.
/// </summary>
internal sealed unsafe class Bf16Format : IWeightFormat
{
    public static readonly Bf16Format Instance = new();

    public DType DType => DType.BF16;

    public long ByteLength(long rows, long columns) => rows * columns * 2;

    public float Dequantize(WeightTensor w, long index) => Bf16ToFloat(((ushort*)w.Data)[index]);

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        bool wide = settings.UseVector512;
        int chunk = wide ? 32 : 16;
        var packed = RentPack(rows * k);
        try
        {
            fixed (float* packedPtr = packed)
            {
                var jobs = new TiledProduct<Rows>[products.Length];
                for (int i = 0; i < jobs.Length; i++)
                    jobs[i] = new(new Rows((ushort*)products[i].W.Data, k), packedPtr, (float*)products[i].Y, rows, products[i].W.Rows, k, wide);
                // The pack runs in the products' dispatch, a share of the rows per worker: by the caller alone it was
                // 7 % of its time in a forward of sdar-mini on two threads (mostly fetching the input the other core
                // had just written), while the other worker waited.
                int parts = Math.Clamp(rows, 1, settings.Threads);
                nint input = (nint)x, output = (nint)packedPtr;
                MatMul.Run(jobs, settings.Threads, done, new MatMul.Prologue(parts, part =>
                {
                    int first = (int)((long)rows * part / parts), last = (int)((long)rows * (part + 1) / parts);
                    PackEvenOdd((float*)input + (long)first * k, (float*)output + (long)first * k, last - first, k, chunk);
                }));
            }
        }
        finally
        {
            ReturnPack(packed);
        }
    }

    /// <summary>Packed activations of up to this many floats (4 MB) take buffers from <see cref="Packs"/>; larger ones are allocated.</summary>
    private const int ReusedPackLength = 1 << 20;

    /// <summary>Buffers kept for reuse, process-wide (at most 8 x 4 MB), and how many the queue fills up to before reusing
    /// any, so that one forward's products go round four of them.</summary>
    private const int KeptPacks = 8, PacksInTurn = 4;

    /// <summary>
    /// Why reused: a forward of a small model makes ~30 products, each packing its input; allocating every pack was 3 %
    /// of a forward of sdar-mini and most of its garbage. Why a queue, oldest first: the other workers read a pack, so
    /// it sits in their caches, and writing the next pack over it made every line a cross-core invalidation (the pack
    /// was 13 % of the calling thread's time in a T = 64 forward of sdar-mini on two threads); a buffer comes back
    /// round only after the others, when they have mostly let it go (5-8 % off T = 32..64). Why process-wide, not per
    /// thread: buffers on every thread that ever ran a forward grew a server's test process by gigabytes. Each
    /// caller holds its buffer alone from rent to return, so concurrent forwards never share one.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentQueue<float[]> Packs = new();

    private static float[] RentPack(int length)
    {
        if (length <= ReusedPackLength && Packs.Count >= PacksInTurn && Packs.TryDequeue(out var buffer))
        {
            if (buffer.Length >= length) return buffer;
            return GC.AllocateUninitializedArray<float>(Math.Max(length, Math.Min(ReusedPackLength, 2 * buffer.Length)));
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    private static void ReturnPack(float[] buffer)
    {
        if (buffer.Length <= ReusedPackLength && Packs.Count < KeptPacks) Packs.Enqueue(buffer);
    }

    /// <summary>Reorders each row's chunks of <paramref name="chunk"/> values into (evens, odds); a tail stays as is.</summary>
    /// <remarks>
    /// Two permutes per chunk where the hardware has them: done one float at a time this was a sixth of a forward of
    /// sdar-mini (T = 8), run by the calling thread before every product while the workers waited.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackEvenOdd(float* x, float* packed, int rows, int k, int chunk)
    {
        int half = chunk / 2, vectorEnd = k / chunk * chunk;
        var evens512 = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds512 = evens512 + Vector512<int>.One;
        var evensThenOdds256 = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        for (int r = 0; r < rows; r++)
        {
            float* src = x + (long)r * k, dst = packed + (long)r * k;
            int c = 0;
            if (chunk == 32 && Avx512F.IsSupported)
                for (; c < vectorEnd; c += 32)
                {
                    var low = Vector512.Load(src + c);
                    var high = Vector512.Load(src + c + 16);
                    Avx512F.PermuteVar16x32x2(low, evens512, high).Store(dst + c);
                    Avx512F.PermuteVar16x32x2(low, odds512, high).Store(dst + c + 16);
                }
            else if (chunk == 16 && Avx2.IsSupported)
                for (; c < vectorEnd; c += 16)
                {
                    // Each half as (its evens, its odds), then the two evens' halves together and the two odds'.
                    var low = Avx2.PermuteVar8x32(Vector256.Load(src + c), evensThenOdds256);
                    var high = Avx2.PermuteVar8x32(Vector256.Load(src + c + 8), evensThenOdds256);
                    Avx2.Permute2x128(low, high, 0x20).Store(dst + c);
                    Avx2.Permute2x128(low, high, 0x31).Store(dst + c + 8);
                }
            for (; c < vectorEnd; c += chunk)
                for (int i = 0; i < half; i++)
                {
                    dst[c + i] = src[c + 2 * i];
                    dst[c + half + i] = src[c + 2 * i + 1];
                }
            for (int i = vectorEnd; i < k; i++) dst[i] = src[i];
        }
    }

    private static float Bf16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>A 32-bit lane holding two bf16 values: the even one shifted up, the odd one masked in place.</summary>
    private readonly struct Rows(ushort* w, int k) : IWeightRows
    {
        public static int WideChunk => 32;
        public static int NarrowChunk => 16;
        public static int WidenFromRows => int.MaxValue;   // two ops per vector: cheaper than a trip through memory

        public long Row(int col) => (long)col * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> First, Vector512<float> Second) Wide(long row, int c)
        {
            var v = Vector512.Load((uint*)(w + row + c));
            return ((v << 16).AsSingle(), (v & Vector512.Create(0xFFFF0000u)).AsSingle());
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c)
        {
            var v = Vector256.Load((uint*)(w + row + c));
            return ((v << 16).AsSingle(), (v & Vector256.Create(0xFFFF0000u)).AsSingle());
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scalar(long row, int i) => Bf16ToFloat(w[row + i]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(long row, int c) => Sse.Prefetch1(w + row + c);
    }
}
