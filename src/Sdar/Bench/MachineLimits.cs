using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace Sdar.Bench;

/// <summary>
/// This machine's ceilings, measured rather than assumed: sustained DRAM read bandwidth and fp32 FMA peak,
/// both with all worker threads. Together they give the floor of a forward (the roofline).
/// </summary>
public sealed record MachineLimits(double BandwidthBytesPerSecond, double PeakFlopsPerSecond, int Threads)
{
    public static MachineLimits Measure(int threads)
    {
        return new MachineLimits(MeasureBandwidth(threads), MeasureFmaPeak(threads), threads);
    }

    /// <summary>Reads a 1 GiB buffer (far beyond the caches) with vector loads on every thread; best of a few passes.</summary>
    private static unsafe double MeasureBandwidth(int threads)
    {
        const long bytes = 1L << 30;
        var buffer = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        Parallel.For(0, threads, t =>
        {
            long part = bytes / threads;
            new Span<byte>(buffer, (int)(t * part), (int)part).Fill((byte)(t + 1));
        });
        double best = 0;
        fixed (byte* basePtr = buffer)
        {
            byte* p = basePtr;
            for (int pass = 0; pass < 4; pass++)
            {
                var sw = Stopwatch.StartNew();
                var sums = new float[threads];
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long part = bytes / threads;
                    float* start = (float*)(p + t * part);
                    long count = part / sizeof(float);
                    var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
                    for (long i = 0; i + 64 <= count; i += 64)
                    {
                        a0 += Vector512.Load(start + i);
                        a1 += Vector512.Load(start + i + 16);
                        a2 += Vector512.Load(start + i + 32);
                        a3 += Vector512.Load(start + i + 48);
                    }
                    sums[t] = Vector512.Sum(a0 + a1 + a2 + a3);
                });
                double seconds = sw.Elapsed.TotalSeconds;
                best = Math.Max(best, bytes / seconds);
                GC.KeepAlive(sums);
            }
        }
        return best;
    }

    /// <summary>Independent FMA chains held in registers on every thread: 2 flops per lane per FMA.</summary>
    private static double MeasureFmaPeak(int threads)
    {
        const long iterations = 20_000_000;
        double best = 0;
        for (int pass = 0; pass < 3; pass++)
        {
            var sw = Stopwatch.StartNew();
            var sink = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => sink[t] = FmaLoop(iterations));
            double seconds = sw.Elapsed.TotalSeconds;
            int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
            best = Math.Max(best, threads * iterations * 8.0 * lanes * 2 / seconds);
        }
        return best;
    }

    private static float FmaLoop(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(0.999999f); var add = Vector512.Create(1e-7f);
            Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, m, add); a1 = Vector512.FusedMultiplyAdd(a1, m, add);
                a2 = Vector512.FusedMultiplyAdd(a2, m, add); a3 = Vector512.FusedMultiplyAdd(a3, m, add);
                a4 = Vector512.FusedMultiplyAdd(a4, m, add); a5 = Vector512.FusedMultiplyAdd(a5, m, add);
                a6 = Vector512.FusedMultiplyAdd(a6, m, add); a7 = Vector512.FusedMultiplyAdd(a7, m, add);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
        else
        {
            var m = Vector256.Create(0.999999f); var add = Vector256.Create(1e-7f);
            Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, m, add); a1 = Vector256.FusedMultiplyAdd(a1, m, add);
                a2 = Vector256.FusedMultiplyAdd(a2, m, add); a3 = Vector256.FusedMultiplyAdd(a3, m, add);
                a4 = Vector256.FusedMultiplyAdd(a4, m, add); a5 = Vector256.FusedMultiplyAdd(a5, m, add);
                a6 = Vector256.FusedMultiplyAdd(a6, m, add); a7 = Vector256.FusedMultiplyAdd(a7, m, add);
            }
            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }
}
