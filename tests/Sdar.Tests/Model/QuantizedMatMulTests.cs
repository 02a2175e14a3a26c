using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

/// <summary>The Q8_0 / Q4_0 kernels against the reference: the same product over the dequantized weights.</summary>
public class QuantizedMatMulTests
{
    private static WeightTensor RandomF32(int n, int k, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[n * k * 4];
        for (int i = 0; i < n * k; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4, 4), (float)(random.NextDouble() * 2 - 1));
        return new WeightTensor("w", DType.F32, [n, k], bytes);
    }

    [Theory]
    [InlineData(DType.Q8_0, 70, 96)]
    [InlineData(DType.Q8_0, 9, 256)]
    [InlineData(DType.Q4_0, 70, 96)]
    [InlineData(DType.Q4_0, 9, 256)]
    public void Rows_are_bit_identical_whatever_the_batch_and_match_the_dequantized_reference(DType format, int n, int k)
    {
        var source = RandomF32(n, k, 3);
        var w = WeightQuantizer.Quantize(source, format);
        var random = new Random(5);
        const int rows = 13;
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var all = new float[rows * n];
        var floatActivations = KernelSettings.Default with { Activations = QuantizedActivations.Float };
        MatMul.Compute(floatActivations, w, x, rows, all);
        double step = format == DType.Q8_0 ? 1.0 / 127 : 1.0 / 7;   // the largest rounding, relative to a group's largest weight
        for (int r = 0; r < rows; r++)
        {
            var single = new float[n];
            MatMul.Compute(floatActivations, w, x.AsSpan(r * k, k), 1, single);
            Assert.Equal(single, all.AsSpan(r * n, n).ToArray());
            for (int c = 0; c < n; c++)
            {
                double dequantized = 0, original = 0;
                for (int i = 0; i < k; i++)
                {
                    dequantized += (double)w.GetFloat((long)c * k + i) * x[r * k + i];
                    original += (double)source.GetFloat((long)c * k + i) * x[r * k + i];
                }
                Assert.True(Math.Abs(dequantized - all[r * n + c]) <= 1e-4 * Math.Max(1, Math.Abs(dequantized)), $"row {r} col {c}: {all[r * n + c]} vs {dequantized}");
                // Each weight moves by at most half a step of its group's scale (|w| <= 1 here).
                Assert.True(Math.Abs(original - dequantized) <= 0.5 * step * k * 1.01, $"row {r} col {c}: quantization error too large");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Quantizing_keeps_the_parameter_count_also_with_a_tied_head(bool tied)
    {
        var weights = TinyModels.Create(TinyModels.Config(tied: tied), DType.BF16);
        Assert.Equal(tied, ReferenceEquals(weights.LmHead, weights.EmbedTokens));
        foreach (var format in new[] { DType.Q8_0, DType.Q4_0 })
        {
            var quantized = WeightQuantizer.Quantize(weights, format);
            Assert.False(ReferenceEquals(quantized.LmHead, quantized.EmbedTokens));   // a packed head beside the embeddings
            Assert.Equal(weights.ParameterCount(), quantized.ParameterCount());
        }
    }

    public static TheoryData<DType, bool> WidenedFormats()
    {
        var data = new TheoryData<DType, bool>();
        foreach (var dtype in new[] { DType.Q8_0, DType.Q4_0, DType.F16 })
        {
            data.Add(dtype, false);
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) data.Add(dtype, true);
        }
        return data;
    }

    /// <summary>
    /// With float activations a format's product is the F32 kernel's over its dequantized weights, bit for bit, in
    /// every path: one row and few rows (widened in registers), and from 8 rows (F16: 1) the blocked path, where the
    /// first row tile widens each block as it multiplies it; K = 1088 spans two whole blocks of 512 and a part.
    /// </summary>
    [Theory]
    [MemberData(nameof(WidenedFormats))]
    public void Float_activations_give_the_F32_kernel_over_the_dequantized_weights_bit_for_bit(DType format, bool wide)
    {
        const int n = 70, k = 1088;   // 70: a column tile left over with two columns
        var source = RandomF32(n, k, 11);
        WeightTensor w;
        if (format == DType.F16)
        {
            var bytes = new byte[n * k * 2];
            for (int i = 0; i < n * k; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), (Half)source.GetFloat(i));
            w = new WeightTensor("w", DType.F16, [n, k], bytes);
        }
        else w = WeightQuantizer.Quantize(source, format);
        var dequantizedBytes = new byte[n * k * 4];
        for (int i = 0; i < n * k; i++) BitConverter.TryWriteBytes(dequantizedBytes.AsSpan(i * 4, 4), w.GetFloat(i));
        var dequantized = new WeightTensor("w", DType.F32, [n, k], dequantizedBytes);
        var settings = new KernelSettings { Threads = 2, UseVector512 = wide, Activations = QuantizedActivations.Float };
        var random = new Random(13);
        foreach (int rows in new[] { 1, 3, 4, 7, 8, 13 })
        {
            var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var expected = new float[rows * n];
            var actual = new float[rows * n];
            MatMul.Compute(settings, dequantized, x, rows, expected);
            MatMul.Compute(settings, w, x, rows, actual);
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>The int8 activations of one row, group by group, as the scalar rule says (the kernels' reference).</summary>
    private static (sbyte[] Q, float[] Scales) QuantizeReference(float[] x)
    {
        var q = new sbyte[x.Length];
        var scales = new float[x.Length / QuantizedGroup.Size];
        for (int g = 0; g < scales.Length; g++)
        {
            float amax = 0f;
            for (int j = 0; j < QuantizedGroup.Size; j++) amax = MathF.Max(amax, MathF.Abs(x[g * 32 + j]));
            float d = amax / 127f, id = d != 0f ? 1f / d : 0f;
            scales[g] = d;
            for (int j = 0; j < QuantizedGroup.Size; j++) q[g * 32 + j] = (sbyte)MathF.Round(x[g * 32 + j] * id, MidpointRounding.AwayFromZero);
        }
        return (q, scales);
    }

    [Fact]
    public unsafe void Int8_activations_round_as_the_scalar_rule()
    {
        var random = new Random(11);
        const int k = 256;
        var x = Enumerable.Range(0, 3 * k).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        for (int j = 0; j < 32; j++) x[32 + j] = 0f;                 // a group of zeros: scale 0, values 0
        // Largest magnitude 127: scale 1, so the others (k + 0.5) land on midpoints, which go away from zero.
        for (int j = 0; j < 32; j++) x[64 + j] = j - 16 + 0.5f;
        x[64] = 127f;
        var q = new sbyte[x.Length];
        var scales = new float[x.Length / 32];
        fixed (float* xp = x)
        fixed (sbyte* qp = q)
        fixed (float* sp = scales)
            Sdar.Model.Kernels.Formats.Int8Activations.Quantize(xp, 3, k, qp, sp);
        var (expectedQ, expectedScales) = QuantizeReference(x);
        Assert.Equal(expectedScales, scales);
        Assert.Equal(expectedQ, q);
    }

    public static TheoryData<DType, int, int> Int8Shapes() => new()
    {
        { DType.Q8_0, 70, 256 }, { DType.Q8_0, 9, 96 }, { DType.Q8_0, 37, 1024 },
        { DType.Q4_0, 70, 256 }, { DType.Q4_0, 9, 96 }, { DType.Q4_0, 37, 1024 },
    };

    [Theory]
    [MemberData(nameof(Int8Shapes))]
    public void Int8_activations_match_the_reference_and_are_bit_identical_across_batches_threads_and_widths(DType format, int n, int k)
    {
        var w = WeightQuantizer.Quantize(RandomF32(n, k, 3), format);
        var random = new Random(7);
        const int rows = 17;
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var settings = new List<KernelSettings> { new() { Activations = QuantizedActivations.Int8, UseVector512 = false, Threads = 1 } };
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            settings.Add(new() { Activations = QuantizedActivations.Int8, UseVector512 = true, Threads = 1 });
        var all = new float[rows * n];
        MatMul.Compute(settings[0], w, x, rows, all);

        // The reference: dequantized weights times dequantized activations, in double.
        for (int r = 0; r < rows; r++)
        {
            var (q, scales) = QuantizeReference(x.AsSpan(r * k, k).ToArray());
            for (int c = 0; c < n; c++)
            {
                double expected = 0, magnitude = 0;
                for (int i = 0; i < k; i++)
                {
                    double term = (double)w.GetFloat((long)c * k + i) * (q[i] * (double)scales[i / 32]);
                    expected += term;
                    magnitude += Math.Abs(term);
                }
                Assert.True(Math.Abs(expected - all[r * n + c]) <= 1e-5 * magnitude + 1e-6, $"row {r} col {c}: {all[r * n + c]} vs {expected}");
            }
        }
        // Every width, thread count and batch size gives the same bits.
        foreach (var baseSettings in settings)
            foreach (int threads in new[] { 1, 2, 3 })
                for (int batch = 1; batch <= rows; batch++)
                {
                    var y = new float[batch * n];
                    for (int start = 0; start < rows; start += batch)
                    {
                        int count = Math.Min(batch, rows - start);
                        MatMul.Compute(baseSettings with { Threads = threads }, w, x.AsSpan(start * k, count * k), count, y);
                        Assert.Equal(all.AsSpan(start * n, count * n).ToArray(), y.AsSpan(0, count * n).ToArray());
                    }
                }
    }

    [Theory]
    [InlineData(DType.Q8_0)]
    [InlineData(DType.Q4_0)]
    public void A_model_on_int8_activations_stays_close_to_float_activations_and_batch_invariant(DType format)
    {
        var weights = WeightQuantizer.Quantize(TinyModels.Create(TinyModels.Config(), DType.BF16), format);
        var random = new Random(4);
        int[] prompt = [.. Enumerable.Range(0, 9).Select(_ => random.Next(weights.Config.VocabSize))];
        int[] other = [.. Enumerable.Range(0, 5).Select(_ => random.Next(weights.Config.VocabSize))];
        SequenceInput Input(int[] tokens) => new(tokens, new ContiguousKvCache(weights.Config), false);
        var exact = new FastModel(weights, KernelSettings.Default with { Activations = QuantizedActivations.Float }).Forward([Input(prompt)], AttentionKind.BlockCausal, 4)[0];
        var int8Model = new FastModel(weights, KernelSettings.Default with { Activations = QuantizedActivations.Int8 });
        var alone = int8Model.Forward([Input(prompt)], AttentionKind.BlockCausal, 4)[0];
        var batched = int8Model.Forward([Input(other), Input(prompt)], AttentionKind.BlockCausal, 4)[1];
        Assert.Equal(alone, batched);
        double error = 0, norm = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            error += (alone[i] - exact[i]) * (double)(alone[i] - exact[i]);
            norm += exact[i] * (double)exact[i];
        }
        Assert.True(Math.Sqrt(error / norm) < 0.02, $"relative L2 distance {Math.Sqrt(error / norm):E2}");
        Assert.NotEqual(exact, alone);   // the activations really were quantized
        // By default Q4_0 gets int8 activations where the machine has AVX2, and Q8_0 float ones.
        bool int8ByDefault = format == DType.Q4_0 && System.Runtime.Intrinsics.X86.Avx2.IsSupported;
        Assert.Equal(QuantizedActivations.Auto, KernelSettings.Default.Activations);
        Assert.Equal(int8ByDefault ? alone : exact, new FastModel(weights).Forward([Input(prompt)], AttentionKind.BlockCausal, 4)[0]);
    }
}
