using System.Diagnostics;
using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Bench;

/// <summary>One weight format and activation kind of <see cref="KernelBenchmark"/> at T rows: median ms per product.</summary>
public sealed record KernelResult(int Tokens, string Weights, string Activations, double Ms, double WeightGbPerS, double RatioToBf16);

/// <summary>
/// One product y = x W^T (T rows of activations, W of N x K) in every weight format and activation kind, alternating
/// the formats within each round so that all of them see the same machine. The matrix is copied until the copies
/// hold a working set larger than the caches, and each timed product takes the next copy: the weights come from
/// memory, as in a forward, not from the L3 cache (which holds a whole 12288 x 2048 BF16 matrix on some CPUs).
/// </summary>
public static class KernelBenchmark
{
    public static IReadOnlyList<KernelResult> Run(int n, int k, IReadOnlyList<int> tokens, int rounds, KernelSettings kernels,
        long workingSetBytes = 400_000_000, Action<string>? progress = null)
    {
        if (n < 1 || k < QuantizedGroup.Size || k % QuantizedGroup.Size != 0)
            throw new ArgumentException($"the matrix must be at least 1 x 32 with K a multiple of 32; got {n} x {k}");
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least one round");
        var random = new Random(1);
        var bytes = new byte[(long)n * k * 2];
        for (long i = 0; i < (long)n * k; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan((int)(i * 2), 2), (ushort)(BitConverter.SingleToUInt32Bits((float)(random.NextDouble() * 2 - 1)) >> 16));
        int copies = (int)Math.Clamp(workingSetBytes / bytes.Length, 1, 64);
        progress?.Invoke($"{copies} copies of a random {n} x {k} matrix ({copies * bytes.Length / 1e6:F0} MB of BF16), quantized to q8 and q4...");
        var bf16 = Enumerable.Range(0, copies).Select(_ => new WeightTensor("w", DType.BF16, [n, k], (byte[])bytes.Clone())).ToArray();
        var floatActivations = kernels with { Activations = QuantizedActivations.Float };
        var cases = new List<(string Weights, string Activations, WeightTensor[] Copies, KernelSettings Settings)> { ("bf16", "float", bf16, floatActivations) };
        foreach (var format in new[] { DType.Q8_0, DType.Q4_0 })
        {
            var quantized = bf16.Select(w => WeightQuantizer.Quantize(w, format)).ToArray();
            string name = WeightFormatNames.Name(format);
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) cases.Add((name, "int8", quantized, kernels with { Activations = QuantizedActivations.Int8 }));
            cases.Add((name, "float", quantized, floatActivations));
        }

        var results = new List<KernelResult>();
        foreach (int t in tokens)
        {
            var x = new float[(long)t * k];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
            var y = new float[(long)t * n];
            var times = cases.Select(_ => new List<double>()).ToArray();
            int reps = Math.Max(3, 32 / t);
            // Untimed passes over every case and copy first, for half a second at least: the first products of a
            // process run slower, which measured 2.6 against 1.8 ms for the BF16 case that came first.
            var warmUp = Stopwatch.StartNew();
            do
                foreach (var (_, _, weights, settings) in cases)
                    foreach (var copy in weights) MatMul.Compute(settings, copy, x, t, y);
            while (warmUp.Elapsed.TotalSeconds < 0.5);
            for (int round = 0; round < rounds; round++)
                for (int c = 0; c < cases.Count; c++)
                {
                    var (_, _, weights, settings) = cases[c];
                    MatMul.Compute(settings, weights[0], x, t, y);
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < reps; i++) MatMul.Compute(settings, weights[(i + 1) % weights.Length], x, t, y);
                    times[c].Add(clock.Elapsed.TotalMilliseconds / reps);
                }
            double bf16Ms = Median(times[0]);
            for (int c = 0; c < cases.Count; c++)
            {
                double ms = Median(times[c]);
                results.Add(new KernelResult(t, cases[c].Weights, cases[c].Activations, ms, cases[c].Copies[0].ByteLength / (ms * 1e6), ms / bf16Ms));
            }
        }
        return results;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
