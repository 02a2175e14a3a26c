using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// Random weights of any shape, built in memory for tests and benchmarks: matrices ~ N(0, 0.02^2) (the HF
/// <c>initializer_range</c>), norm weights ~ 1 + N(0, 0.1^2) so that every norm is exercised but none collapses,
/// which keeps the logits non-degenerate. The values are generated straight into the stored precision (no float
/// copy), so a 1.7B BF16 model needs just its ~3.4 GB of BF16 bytes. The result depends only on the config,
/// the dtype and the seed, not on the number of threads. A quantized dtype (<see cref="DType.Q8_0"/>,
/// <see cref="DType.Q4_0"/>) quantizes the BF16 model of the same seed (<see cref="WeightQuantizer"/>), so the three
/// formats hold the same weights, as when a released BF16 model is quantized.
/// </summary>
public static class RandomModel
{
    public const float MatrixStd = 0.02f;
    public const float NormStd = 0.1f;
    // Elements per work item: large enough to amortise scheduling, small enough to balance over cores.
    private const int ChunkElements = 1 << 16;

    public static ModelWeights Create(ModelConfig config, DType dtype = DType.BF16, int seed = 0)
    {
        if (dtype.IsQuantized()) return WeightQuantizer.Quantize(Create(config, DType.BF16, seed), dtype);
        ConfigLoader.Validate(config, "random model config");
        var specs = ModelLayout.Tensors(config);
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        var work = new List<(WeightTensor Tensor, long Chunk, ulong Seed, float Mean, float Std)>();
        foreach (var spec in specs)
        {
            var tensor = Allocate(spec, dtype);
            tensors.Add(spec.Name, tensor);
            bool isNorm = spec.Shape.Length == 1;
            ulong tensorSeed = Fnv1a(spec.Name) ^ (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
            for (long c = 0; c * ChunkElements < tensor.ElementCount; c++)
                work.Add((tensor, c, tensorSeed, isNorm ? 1f : 0f, isNorm ? NormStd : MatrixStd));
        }
        Parallel.ForEach(work, item => Fill(item.Tensor, item.Chunk, item.Seed, item.Mean, item.Std));
        return ModelWeights.Bind(config, tensors, "random model");
    }

    private static unsafe WeightTensor Allocate(TensorSpec spec, DType dtype)
    {
        long bytes = spec.Shape.Aggregate(1L, (a, b) => a * b) * dtype.SizeInBytes();
        var buffer = new NativeBuffer(bytes);
        return new WeightTensor(spec.Name, dtype, spec.Shape, buffer.Pointer, buffer);
    }

    private static unsafe void Fill(WeightTensor tensor, long chunk, ulong tensorSeed, float mean, float std)
    {
        long start = chunk * ChunkElements;
        int count = (int)Math.Min(ChunkElements, tensor.ElementCount - start);
        // 16 interleaved xorshift64 streams per chunk, 8 per vector: element 16k + l is draw k of stream l.
        ulong chunkSeed = tensorSeed + (ulong)chunk * 0xD1B54A32D192ED03UL;
        var low = Vector512.Create(Enumerable.Range(0, 8).Select(l => SplitMix64(chunkSeed + (ulong)l) | 1).ToArray());
        var high = Vector512.Create(Enumerable.Range(8, 8).Select(l => SplitMix64(chunkSeed + (ulong)l) | 1).ToArray());
        // Irwin-Hall: the four 16-bit quarters of a draw are uniforms whose sum has mean 2 * 65536 and variance
        // 65536^2 / 3, so (sum / 65536 - 2) * sqrt(3) is close to N(0, 1) (bounded by +-3.46, which suits init).
        var scale = Vector512.Create(std * MathF.Sqrt(3f) / 65536f);
        var offset = Vector512.Create(mean - 2f * std * MathF.Sqrt(3f));
        byte* data = tensor.Data;
        for (int i = 0; i < count; i += 16)
        {
            low = XorShift(low);
            high = XorShift(high);
            var sums = Vector512.Narrow(SumOfQuarters(low), SumOfQuarters(high)).AsInt32();
            var values = Vector512.ConvertToSingle(sums) * scale + offset;
            int n = Math.Min(16, count - i);
            long at = start + i;
            switch (tensor.DType)
            {
                case DType.F32 when n == 16:
                    values.Store((float*)data + at);
                    break;
                case DType.BF16 when n == 16:
                    // Round to nearest even, as ToBFloat16.
                    var bits = values.AsUInt32();
                    var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
                    Vector512.Narrow(rounded, Vector512<uint>.Zero).GetLower().Store((ushort*)data + at);
                    break;
                default:
                    for (int j = 0; j < n; j++) Store(tensor.DType, data, at + j, values[j]);
                    break;
            }
        }
    }

    private static Vector512<ulong> XorShift(Vector512<ulong> x)
    {
        x ^= x << 13;
        x ^= x >> 7;
        return x ^ (x << 17);
    }

    private static Vector512<ulong> SumOfQuarters(Vector512<ulong> x)
    {
        var mask = Vector512.Create(0x0000FFFF0000FFFFUL);
        var pairs = (x & mask) + ((x >> 16) & mask);
        return (pairs & Vector512.Create(0xFFFFFFFFUL)) + (pairs >> 32);
    }

    private static unsafe void Store(DType dtype, byte* data, long index, float value)
    {
        switch (dtype)
        {
            case DType.F32: ((float*)data)[index] = value; break;
            case DType.F16: ((Half*)data)[index] = (Half)value; break;
            case DType.BF16: ((ushort*)data)[index] = ToBFloat16(value); break;
        }
    }

    /// <summary>Round to nearest even, as PyTorch's float -> bfloat16 cast (the values here are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>A stable hash of the tensor name, so each tensor's values do not depend on the others.</summary>
    private static ulong Fnv1a(string text)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in text) hash = (hash ^ c) * 0x100000001B3UL;
        return hash;
    }
}
