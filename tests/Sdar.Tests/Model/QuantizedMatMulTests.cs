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
        MatMul.Compute(KernelSettings.Default, w, x, rows, all);
        double step = format == DType.Q8_0 ? 1.0 / 127 : 1.0 / 7;   // the largest rounding, relative to a group's largest weight
        for (int r = 0; r < rows; r++)
        {
            var single = new float[n];
            MatMul.Compute(KernelSettings.Default, w, x.AsSpan(r * k, k), 1, single);
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
}
