using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Q8_0 weights: int8 values, one fp16 scale per group of 32 inputs (<see cref="QuantizedGroup"/>).
/// <para>
/// The activations stay float: each weight vector is widened (vpmovsxbd), converted and multiplied by its group's
/// scale in registers, then FMA'd into the output's accumulator exactly as the F32 kernel would with the
/// dequantized matrix, so every result equals the F32 kernel's over <see cref="Dequantize"/>d weights, bit for bit
/// (the tests check it). Quantizing the activations too (ggml's Q8_0 x Q8_0 dot product) would add a second
/// rounding for a speed-up only where the product is compute-bound; at T = 1 it streams the weights, which this
/// kernel reads at half the bytes of BF16.
/// </para>
/// </summary>
internal sealed unsafe class Q8Format : IWeightFormat
{
    public static readonly Q8Format Instance = new();
    private const int TileRows = MatMul.TileRows, TileCols = MatMul.TileCols, Group = QuantizedGroup.Size;

    public DType DType => DType.Q8_0;

    public long ByteLength(long rows, long columns) => rows * columns + rows * (columns / Group) * 2;

    public float Dequantize(WeightTensor w, long index) =>
        ((sbyte*)w.Data)[index] * (float)BitConverter.UInt16BitsToHalf(w.Scales[index / Group]);

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        var jobs = new Q8Job[products.Length];
        for (int i = 0; i < jobs.Length; i++)
        {
            var w = products[i].W;
            jobs[i] = new Q8Job((sbyte*)w.Data, w.Scales, x, (float*)products[i].Y, rows, w.Rows, k, settings.UseVector512);
        }
        MatMul.Run(jobs, settings.Threads);
    }

    private readonly struct Q8Job(sbyte* w, ushort* scales, float* x, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    {
        public int N => n;
        public int Rows => rows;
        public int K => k;
        private int Groups => k / Group;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Columns(int start, int end)
        {
            int col = start;
            for (; col + TileCols <= end; col += TileCols)
            {
                int row = 0;
                if (wide)
                {
                    for (; row + TileRows <= rows; row += TileRows) Tile4x4(col, row);
                    for (; row < rows; row++) Tile1x4(col, row);
                }
                else
                {
                    for (; row + TileRows <= rows; row += TileRows)
                    {
                        Tile4x2Narrow(col, row);
                        Tile4x2Narrow(col + 2, row);
                    }
                    for (; row < rows; row++)
                        for (int j = 0; j < TileCols; j++) y[(long)row * n + col + j] = Dot(col + j, row);
                }
            }
            for (; col < end; col++)
                for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row);
        }

        /// <summary>16 weights at <paramref name="q"/> as floats times the group's scale.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Wide(sbyte* q, Vector512<float> scale) =>
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q))) * scale;

        /// <summary>8 weights at <paramref name="q"/> as floats times the group's scale.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Narrow(sbyte* q, Vector256<float> scale) =>
            Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q)) * scale;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Dot(int col, int row)
        {
            sbyte* wr = w + (long)col * k;
            ushort* sr = scales + (long)col * Groups;
            float* xr = x + (long)row * k;
            if (wide)
            {
                var acc = Vector512<float>.Zero;
                for (int g = 0, i = 0; g < Groups; g++, i += Group)
                {
                    var s = Vector512.Create(QuantizedGroup.ScaleToFloat(sr[g]));
                    acc = Vector512.FusedMultiplyAdd(Wide(wr + i, s), Vector512.Load(xr + i), acc);
                    acc = Vector512.FusedMultiplyAdd(Wide(wr + i + 16, s), Vector512.Load(xr + i + 16), acc);
                }
                return Vector512.Sum(acc);
            }
            else
            {
                var acc = Vector256<float>.Zero;
                for (int g = 0, i = 0; g < Groups; g++, i += Group)
                {
                    var s = Vector256.Create(QuantizedGroup.ScaleToFloat(sr[g]));
                    for (int j = 0; j < Group; j += 8)
                        acc = Vector256.FusedMultiplyAdd(Narrow(wr + i + j, s), Vector256.Load(xr + i + j), acc);
                }
                return Vector256.Sum(acc);
            }
        }

        /// <summary>One activation row against four weight rows (the T = 1 path): each output is <see cref="Dot"/>'s chain.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile1x4(int col, int row)
        {
            sbyte* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups, s2 = s1 + Groups, s3 = s2 + Groups;
            float* xr = x + (long)row * k;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            // The next column tile's rows follow these four in memory: fetch them ahead (see the BF16 kernel).
            sbyte* ahead = w0 + 4L * k;
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                Sse.Prefetch0(ahead + i);
                Sse.Prefetch0(ahead + k + i);
                Sse.Prefetch0(ahead + 2L * k + i);
                Sse.Prefetch0(ahead + 3L * k + i);
                var c0 = Vector512.Create(QuantizedGroup.ScaleToFloat(s0[g]));
                var c1 = Vector512.Create(QuantizedGroup.ScaleToFloat(s1[g]));
                var c2 = Vector512.Create(QuantizedGroup.ScaleToFloat(s2[g]));
                var c3 = Vector512.Create(QuantizedGroup.ScaleToFloat(s3[g]));
                var xv = Vector512.Load(xr + i);
                a0 = Vector512.FusedMultiplyAdd(Wide(w0 + i, c0), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Wide(w1 + i, c1), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Wide(w2 + i, c2), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Wide(w3 + i, c3), xv, a3);
                xv = Vector512.Load(xr + i + 16);
                a0 = Vector512.FusedMultiplyAdd(Wide(w0 + i + 16, c0), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Wide(w1 + i + 16, c1), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Wide(w2 + i + 16, c2), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Wide(w3 + i + 16, c3), xv, a3);
            }
            float* yr = y + (long)row * n + col;
            yr[0] = Vector512.Sum(a0); yr[1] = Vector512.Sum(a1); yr[2] = Vector512.Sum(a2); yr[3] = Vector512.Sum(a3);
        }

        /// <summary>Four activation rows by four weight rows: the weights are widened once for four rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x4(int col, int row)
        {
            sbyte* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups, s2 = s1 + Groups, s3 = s2 + Groups;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                var c0 = Vector512.Create(QuantizedGroup.ScaleToFloat(s0[g]));
                var c1 = Vector512.Create(QuantizedGroup.ScaleToFloat(s1[g]));
                var c2 = Vector512.Create(QuantizedGroup.ScaleToFloat(s2[g]));
                var c3 = Vector512.Create(QuantizedGroup.ScaleToFloat(s3[g]));
                for (int h = 0; h < Group; h += 16)
                {
                    var e0 = Wide(w0 + i + h, c0); var e1 = Wide(w1 + i + h, c1);
                    var e2 = Wide(w2 + i + h, c2); var e3 = Wide(w3 + i + h, c3);
                    var xv = Vector512.Load(x0 + i + h);
                    a00 = Vector512.FusedMultiplyAdd(e0, xv, a00); a01 = Vector512.FusedMultiplyAdd(e1, xv, a01);
                    a02 = Vector512.FusedMultiplyAdd(e2, xv, a02); a03 = Vector512.FusedMultiplyAdd(e3, xv, a03);
                    xv = Vector512.Load(x1 + i + h);
                    a10 = Vector512.FusedMultiplyAdd(e0, xv, a10); a11 = Vector512.FusedMultiplyAdd(e1, xv, a11);
                    a12 = Vector512.FusedMultiplyAdd(e2, xv, a12); a13 = Vector512.FusedMultiplyAdd(e3, xv, a13);
                    xv = Vector512.Load(x2 + i + h);
                    a20 = Vector512.FusedMultiplyAdd(e0, xv, a20); a21 = Vector512.FusedMultiplyAdd(e1, xv, a21);
                    a22 = Vector512.FusedMultiplyAdd(e2, xv, a22); a23 = Vector512.FusedMultiplyAdd(e3, xv, a23);
                    xv = Vector512.Load(x3 + i + h);
                    a30 = Vector512.FusedMultiplyAdd(e0, xv, a30); a31 = Vector512.FusedMultiplyAdd(e1, xv, a31);
                    a32 = Vector512.FusedMultiplyAdd(e2, xv, a32); a33 = Vector512.FusedMultiplyAdd(e3, xv, a33);
                }
            }
            float s00 = Vector512.Sum(a00), s01 = Vector512.Sum(a01), s02 = Vector512.Sum(a02), s03 = Vector512.Sum(a03);
            float s10 = Vector512.Sum(a10), s11 = Vector512.Sum(a11), s12 = Vector512.Sum(a12), s13 = Vector512.Sum(a13);
            float s20 = Vector512.Sum(a20), s21 = Vector512.Sum(a21), s22 = Vector512.Sum(a22), s23 = Vector512.Sum(a23);
            float s30 = Vector512.Sum(a30), s31 = Vector512.Sum(a31), s32 = Vector512.Sum(a32), s33 = Vector512.Sum(a33);
            Store4(row, col, s00, s01, s02, s03);
            Store4(row + 1, col, s10, s11, s12, s13);
            Store4(row + 2, col, s20, s21, s22, s23);
            Store4(row + 3, col, s30, s31, s32, s33);
        }

        /// <summary>The Vector256 tile: 4 rows x 2 columns, each output <see cref="Dot"/>'s chain.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x2Narrow(int col, int row)
        {
            sbyte* w0 = w + (long)col * k, w1 = w0 + k;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                var c0 = Vector256.Create(QuantizedGroup.ScaleToFloat(s0[g]));
                var c1 = Vector256.Create(QuantizedGroup.ScaleToFloat(s1[g]));
                for (int j = i; j < i + Group; j += 8)
                {
                    var e0 = Narrow(w0 + j, c0);
                    var e1 = Narrow(w1 + j, c1);
                    var xv = Vector256.Load(x0 + j);
                    a00 = Vector256.FusedMultiplyAdd(e0, xv, a00); a01 = Vector256.FusedMultiplyAdd(e1, xv, a01);
                    xv = Vector256.Load(x1 + j);
                    a10 = Vector256.FusedMultiplyAdd(e0, xv, a10); a11 = Vector256.FusedMultiplyAdd(e1, xv, a11);
                    xv = Vector256.Load(x2 + j);
                    a20 = Vector256.FusedMultiplyAdd(e0, xv, a20); a21 = Vector256.FusedMultiplyAdd(e1, xv, a21);
                    xv = Vector256.Load(x3 + j);
                    a30 = Vector256.FusedMultiplyAdd(e0, xv, a30); a31 = Vector256.FusedMultiplyAdd(e1, xv, a31);
                }
            }
            float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11);
            float s20 = Vector256.Sum(a20), s21 = Vector256.Sum(a21), s30 = Vector256.Sum(a30), s31 = Vector256.Sum(a31);
            float* yr = y + (long)row * n + col;
            yr[0] = s00; yr[1] = s01; yr += n;
            yr[0] = s10; yr[1] = s11; yr += n;
            yr[0] = s20; yr[1] = s21; yr += n;
            yr[0] = s30; yr[1] = s31;
        }

        private void Store4(int row, int col, float s0, float s1, float s2, float s3)
        {
            float* yr = y + (long)row * n + col;
            yr[0] = s0; yr[1] = s1; yr[2] = s2; yr[3] = s3;
        }
    }
}
