using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class MatMulTests
{
    private static WeightTensor RandomWeight(DType dtype, int n, int k, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[n * k * dtype.SizeInBytes()];
        for (int i = 0; i < n * k; i++)
        {
            float value = (float)(random.NextDouble() * 2 - 1);
            if (dtype == DType.BF16) BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), (ushort)(BitConverter.SingleToInt32Bits(value) >> 16));
            else if (dtype == DType.F32) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4, 4), value);
            else BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), (Half)value);
        }
        return new WeightTensor("w", dtype, [n, k], bytes);
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F32)]
    public void A_row_read_as_floats_is_each_element_as_float(DType dtype)
    {
        // 19 columns: whole vectors of eight and a tail.
        var w = RandomWeight(dtype, 3, 19, seed: 7);
        var row = new float[19];
        for (int r = 0; r < 3; r++)
        {
            w.ReadRow(r, row);
            for (int c = 0; c < 19; c++) Assert.Equal(w.GetFloat(r * 19L + c), row[c]);
        }
    }

    [Theory]
    [InlineData(DType.BF16, 70, 96)]
    [InlineData(DType.BF16, 37, 100)]   // K not a multiple of 32: the scalar tail
    [InlineData(DType.F32, 70, 96)]
    [InlineData(DType.F16, 21, 40)]
    public void Every_row_is_bit_identical_whatever_the_number_of_rows(DType dtype, int n, int k)
    {
        var w = RandomWeight(dtype, n, k, 3);
        var random = new Random(5);
        const int rows = 13;   // 1x4 tiles, 4x4 tiles and (BF16) the widen-once path all take part
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var all = new float[rows * n];
        MatMul.Compute(KernelSettings.Default, w, x, rows, all);
        for (int r = 0; r < rows; r++)
        {
            var single = new float[n];
            MatMul.Compute(KernelSettings.Default, w, x.AsSpan(r * k, k), 1, single);
            Assert.Equal(single, all.AsSpan(r * n, n).ToArray());
            var expected = new float[n];
            for (int c = 0; c < n; c++)
            {
                double acc = 0;
                for (int i = 0; i < k; i++) acc += (double)w.GetFloat((long)c * k + i) * x[r * k + i];
                Assert.True(Math.Abs(acc - all[r * n + c]) <= 1e-4 * Math.Max(1, Math.Abs(acc)), $"row {r} col {c}");
            }
        }
    }

    public static TheoryData<DType, bool> FormatsAndWidths()
    {
        var data = new TheoryData<DType, bool>();
        foreach (var dtype in new[] { DType.BF16, DType.F16, DType.F32, DType.Q8_0, DType.Q4_0 })
        {
            data.Add(dtype, false);
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) data.Add(dtype, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FormatsAndWidths))]
    public void Results_do_not_depend_on_the_thread_count(DType dtype, bool wide)
    {
        const int n = 260, k = 128, rows = 9;   // enough work for the kernels to split the columns between workers
        var w = dtype is DType.Q8_0 or DType.Q4_0 ? WeightQuantizer.Quantize(RandomWeight(DType.F32, n, k, 7), dtype) : RandomWeight(dtype, n, k, 7);
        var random = new Random(9);
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] Product(int threads)
        {
            var y = new float[rows * n];
            MatMul.Compute(new KernelSettings { Threads = threads, UseVector512 = wide }, w, x, rows, y);
            return y;
        }
        var one = Product(1);
        Assert.Equal(one, Product(2));
        Assert.Equal(one, Product(5));
    }

    [Theory]
    [MemberData(nameof(FormatsAndWidths))]
    public void Fused_SwiGlu_gives_the_bits_of_the_two_products_then_the_activation(DType dtype, bool wide)
    {
        const int n = 268, k = 128;   // 268: chunks of columns that are not multiples of 16
        WeightTensor Weight(int seed) => dtype is DType.Q8_0 or DType.Q4_0
            ? WeightQuantizer.Quantize(RandomWeight(DType.F32, n, k, seed), dtype)
            : RandomWeight(dtype, n, k, seed);
        var gateWeights = Weight(21);
        var upWeights = Weight(22);
        foreach (int rows in new[] { 1, 5, 9 })
        {
            var random = new Random(rows);
            var x = Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var settings = new KernelSettings { Threads = threads, UseVector512 = wide };
                var gate = new float[rows * n];
                var up = new float[rows * n];
                MatMul.Compute(settings, x, rows, (gateWeights, gate), (upWeights, up));
                VectorMath.SwiGlu(gate, up);
                var fusedGate = new float[rows * n];
                var fusedUp = new float[rows * n];
                MatMul.ComputeSwiGlu(settings, x, rows, gateWeights, fusedGate, upWeights, fusedUp);
                Assert.Equal(up, fusedUp);
                Assert.Equal(gate, fusedGate);
            }
        }
        Assert.Throws<ArgumentException>(() => MatMul.ComputeSwiGlu(KernelSettings.Default, new float[k], 1, gateWeights, new float[n], RandomWeight(DType.F32, n - 4, k, 1), new float[n]));
    }

    [Fact]
    public void Kernel_settings_reject_what_cannot_run()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KernelSettings { Threads = 0 });
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            Assert.Throws<ArgumentException>(() => new KernelSettings { UseVector512 = true });
        Assert.Equal(Environment.ProcessorCount, KernelSettings.Default.Threads);
    }
}
