using System.Runtime.InteropServices;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// Random weights of any shape, built in memory for tests and benchmarks: matrices ~ N(0, 0.02^2) (the HF
/// <c>initializer_range</c>), norm weights ~ 1 + N(0, 0.1^2) so that every norm is exercised but none collapses,
/// which keeps the logits non-degenerate. The values are generated straight into the stored precision (no float
/// copy), so a 1.7B BF16 model needs just its ~3.4 GB of BF16 bytes. The result depends only on the config,
/// the dtype and the seed, not on the number of threads.
/// </summary>
public static class RandomModel
{
    public const float MatrixStd = 0.02f;
    public const float NormStd = 0.1f;
    // Elements per work item: large enough to amortise scheduling, small enough to balance over cores.
    private const int ChunkElements = 1 << 16;

    public static ModelWeights Create(ModelConfig config, DType dtype = DType.BF16, int seed = 0)
    {
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
        long end = Math.Min(start + ChunkElements, tensor.ElementCount);
        ulong state = SplitMix64(tensorSeed + (ulong)chunk * 0xD1B54A32D192ED03UL);
        if (state == 0) state = 1;
        // Irwin-Hall: four 16-bit uniforms from one xorshift draw; their sum has mean 2 and variance 1/3, so
        // (sum - 2) * sqrt(3) is close to N(0, 1) (bounded by +-3.46, which suits weight init).
        float scale = std * MathF.Sqrt(3f) / 65536f;
        float offset = mean - 2f * std * MathF.Sqrt(3f);
        byte* data = tensor.Data;
        for (long i = start; i < end; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            uint sum = (uint)(state & 0xFFFF) + (uint)((state >> 16) & 0xFFFF) + (uint)((state >> 32) & 0xFFFF) + (uint)(state >> 48);
            float value = sum * scale + offset;
            switch (tensor.DType)
            {
                case DType.F32: ((float*)data)[i] = value; break;
                case DType.F16: ((Half*)data)[i] = (Half)value; break;
                case DType.BF16: ((ushort*)data)[i] = ToBFloat16(value); break;
            }
        }
    }

    /// <summary>Round to nearest even, as PyTorch's float -> bfloat16 cast (the values here are finite).</summary>
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

    /// <summary>Unmanaged memory freed when the last tensor referring to it is collected.</summary>
    private sealed unsafe class NativeBuffer
    {
        private readonly long _bytes;
        public byte* Pointer { get; }

        public NativeBuffer(long bytes)
        {
            _bytes = Math.Max(bytes, 1);
            Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 64);
            GC.AddMemoryPressure(_bytes);
        }

        ~NativeBuffer()
        {
            NativeMemory.AlignedFree(Pointer);
            GC.RemoveMemoryPressure(_bytes);
        }
    }
}
