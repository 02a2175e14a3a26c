using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Q4_0 weights: 4-bit values, two per byte, one fp16 scale per group of 32 inputs; value = (nibble - 8) * scale
/// (<see cref="QuantizedGroup.QuantizeQ4"/>). Byte j of a group holds input j (low nibble) and input j + 16 (high),
/// so 16 bytes zero-extended to 16 lanes give inputs 0..15 by a mask and 16..31 by a shift, with no permutes.
/// As in <see cref="Q8Format"/>, the activations stay float and each result equals the F32 kernel's over the
/// dequantized matrix, bit for bit.
/// </summary>
internal sealed unsafe class Q4Format : IWeightFormat
{
    public static readonly Q4Format Instance = new();
    private const int TileRows = MatMul.TileRows, TileCols = MatMul.TileCols, Group = QuantizedGroup.Size;

    public DType DType => DType.Q4_0;

    public long ByteLength(long rows, long columns) => rows * columns / 2 + rows * (columns / Group) * 2;

    public float Dequantize(WeightTensor w, long index)
    {
        long group = index / Group;
        int within = (int)(index % Group);
        byte packed = w.Data[group * (Group / 2) + within % (Group / 2)];
        int nibble = within < Group / 2 ? packed & 0xF : packed >> 4;
        return (nibble - 8) * (float)BitConverter.UInt16BitsToHalf(w.Scales[group]);
    }

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        var jobs = new Q4Job[products.Length];
        for (int i = 0; i < jobs.Length; i++)
        {
            var w = products[i].W;
            jobs[i] = new Q4Job(w.Data, w.Scales, x, (float*)products[i].Y, rows, w.Rows, k, settings.UseVector512);
        }
        MatMul.Run(jobs, settings.Threads);
    }

    private readonly struct Q4Job(byte* w, ushort* scales, float* x, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    {
        public int N => n;
        public int Rows => rows;
        public int K => k;
        private int Groups => k / Group;
        private int Stride => k / 2;

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

        /// <summary>A group's 16 bytes at <paramref name="q"/>: inputs 0..15 and 16..31 as floats times the scale.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector512<float> Low, Vector512<float> High) Wide(byte* q, Vector512<float> scale)
        {
            var bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(q));
            var eight = Vector512.Create(8);
            var low = Avx512F.ConvertToVector512Single((bytes & Vector512.Create(0xF)) - eight) * scale;
            var high = Avx512F.ConvertToVector512Single((bytes >>> 4) - eight) * scale;
            return (low, high);
        }

        /// <summary>8 bytes at <paramref name="q"/>: their low and high nibbles as floats times the scale.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<float> Low, Vector256<float> High) Narrow(byte* q, Vector256<float> scale)
        {
            var bytes = Avx2.ConvertToVector256Int32(q);
            var eight = Vector256.Create(8);
            var low = Avx.ConvertToVector256Single((bytes & Vector256.Create(0xF)) - eight) * scale;
            var high = Avx.ConvertToVector256Single((bytes >>> 4) - eight) * scale;
            return (low, high);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Dot(int col, int row)
        {
            byte* wr = w + (long)col * Stride;
            ushort* sr = scales + (long)col * Groups;
            float* xr = x + (long)row * k;
            if (wide)
            {
                var acc = Vector512<float>.Zero;
                for (int g = 0, i = 0; g < Groups; g++, i += Group)
                {
                    var (low, high) = Wide(wr + g * (Group / 2), Vector512.Create(QuantizedGroup.ScaleToFloat(sr[g])));
                    acc = Vector512.FusedMultiplyAdd(low, Vector512.Load(xr + i), acc);
                    acc = Vector512.FusedMultiplyAdd(high, Vector512.Load(xr + i + 16), acc);
                }
                return Vector512.Sum(acc);
            }
            else
            {
                var acc = Vector256<float>.Zero;
                for (int g = 0, i = 0; g < Groups; g++, i += Group)
                {
                    var s = Vector256.Create(QuantizedGroup.ScaleToFloat(sr[g]));
                    var (low0, high0) = Narrow(wr + g * (Group / 2), s);
                    var (low1, high1) = Narrow(wr + g * (Group / 2) + 8, s);
                    acc = Vector256.FusedMultiplyAdd(low0, Vector256.Load(xr + i), acc);
                    acc = Vector256.FusedMultiplyAdd(low1, Vector256.Load(xr + i + 8), acc);
                    acc = Vector256.FusedMultiplyAdd(high0, Vector256.Load(xr + i + 16), acc);
                    acc = Vector256.FusedMultiplyAdd(high1, Vector256.Load(xr + i + 24), acc);
                }
                return Vector256.Sum(acc);
            }
        }

        /// <summary>One activation row against four weight rows (the T = 1 path): each output is <see cref="Dot"/>'s chain.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile1x4(int col, int row)
        {
            int stride = Stride;
            byte* w0 = w + (long)col * stride, w1 = w0 + stride, w2 = w1 + stride, w3 = w2 + stride;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups, s2 = s1 + Groups, s3 = s2 + Groups;
            float* xr = x + (long)row * k;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            byte* ahead = w0 + 4L * stride;   // the next column tile, as in the BF16 kernel
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                int at = g * (Group / 2);
                if ((g & 1) == 0)
                {
                    Sse.Prefetch0(ahead + at);
                    Sse.Prefetch0(ahead + stride + at);
                    Sse.Prefetch0(ahead + 2L * stride + at);
                    Sse.Prefetch0(ahead + 3L * stride + at);
                }
                var (l0, h0) = Wide(w0 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s0[g])));
                var (l1, h1) = Wide(w1 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s1[g])));
                var (l2, h2) = Wide(w2 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s2[g])));
                var (l3, h3) = Wide(w3 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s3[g])));
                var xv = Vector512.Load(xr + i);
                a0 = Vector512.FusedMultiplyAdd(l0, xv, a0);
                a1 = Vector512.FusedMultiplyAdd(l1, xv, a1);
                a2 = Vector512.FusedMultiplyAdd(l2, xv, a2);
                a3 = Vector512.FusedMultiplyAdd(l3, xv, a3);
                xv = Vector512.Load(xr + i + 16);
                a0 = Vector512.FusedMultiplyAdd(h0, xv, a0);
                a1 = Vector512.FusedMultiplyAdd(h1, xv, a1);
                a2 = Vector512.FusedMultiplyAdd(h2, xv, a2);
                a3 = Vector512.FusedMultiplyAdd(h3, xv, a3);
            }
            float* yr = y + (long)row * n + col;
            yr[0] = Vector512.Sum(a0); yr[1] = Vector512.Sum(a1); yr[2] = Vector512.Sum(a2); yr[3] = Vector512.Sum(a3);
        }

        /// <summary>Four activation rows by four weight rows: each group is unpacked once for four rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tile4x4(int col, int row)
        {
            int stride = Stride;
            byte* w0 = w + (long)col * stride, w1 = w0 + stride, w2 = w1 + stride, w3 = w2 + stride;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups, s2 = s1 + Groups, s3 = s2 + Groups;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                int at = g * (Group / 2);
                var (l0, h0) = Wide(w0 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s0[g])));
                var (l1, h1) = Wide(w1 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s1[g])));
                var (l2, h2) = Wide(w2 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s2[g])));
                var (l3, h3) = Wide(w3 + at, Vector512.Create(QuantizedGroup.ScaleToFloat(s3[g])));
                var xv = Vector512.Load(x0 + i);
                a00 = Vector512.FusedMultiplyAdd(l0, xv, a00); a01 = Vector512.FusedMultiplyAdd(l1, xv, a01);
                a02 = Vector512.FusedMultiplyAdd(l2, xv, a02); a03 = Vector512.FusedMultiplyAdd(l3, xv, a03);
                xv = Vector512.Load(x1 + i);
                a10 = Vector512.FusedMultiplyAdd(l0, xv, a10); a11 = Vector512.FusedMultiplyAdd(l1, xv, a11);
                a12 = Vector512.FusedMultiplyAdd(l2, xv, a12); a13 = Vector512.FusedMultiplyAdd(l3, xv, a13);
                xv = Vector512.Load(x2 + i);
                a20 = Vector512.FusedMultiplyAdd(l0, xv, a20); a21 = Vector512.FusedMultiplyAdd(l1, xv, a21);
                a22 = Vector512.FusedMultiplyAdd(l2, xv, a22); a23 = Vector512.FusedMultiplyAdd(l3, xv, a23);
                xv = Vector512.Load(x3 + i);
                a30 = Vector512.FusedMultiplyAdd(l0, xv, a30); a31 = Vector512.FusedMultiplyAdd(l1, xv, a31);
                a32 = Vector512.FusedMultiplyAdd(l2, xv, a32); a33 = Vector512.FusedMultiplyAdd(l3, xv, a33);
                xv = Vector512.Load(x0 + i + 16);
                a00 = Vector512.FusedMultiplyAdd(h0, xv, a00); a01 = Vector512.FusedMultiplyAdd(h1, xv, a01);
                a02 = Vector512.FusedMultiplyAdd(h2, xv, a02); a03 = Vector512.FusedMultiplyAdd(h3, xv, a03);
                xv = Vector512.Load(x1 + i + 16);
                a10 = Vector512.FusedMultiplyAdd(h0, xv, a10); a11 = Vector512.FusedMultiplyAdd(h1, xv, a11);
                a12 = Vector512.FusedMultiplyAdd(h2, xv, a12); a13 = Vector512.FusedMultiplyAdd(h3, xv, a13);
                xv = Vector512.Load(x2 + i + 16);
                a20 = Vector512.FusedMultiplyAdd(h0, xv, a20); a21 = Vector512.FusedMultiplyAdd(h1, xv, a21);
                a22 = Vector512.FusedMultiplyAdd(h2, xv, a22); a23 = Vector512.FusedMultiplyAdd(h3, xv, a23);
                xv = Vector512.Load(x3 + i + 16);
                a30 = Vector512.FusedMultiplyAdd(h0, xv, a30); a31 = Vector512.FusedMultiplyAdd(h1, xv, a31);
                a32 = Vector512.FusedMultiplyAdd(h2, xv, a32); a33 = Vector512.FusedMultiplyAdd(h3, xv, a33);
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
            int stride = Stride;
            byte* w0 = w + (long)col * stride, w1 = w0 + stride;
            ushort* s0 = scales + (long)col * Groups, s1 = s0 + Groups;
            float* x0 = x + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
            for (int g = 0, i = 0; g < Groups; g++, i += Group)
            {
                var c0 = Vector256.Create(QuantizedGroup.ScaleToFloat(s0[g]));
                var c1 = Vector256.Create(QuantizedGroup.ScaleToFloat(s1[g]));
                // Inputs i..i+7, i+8..i+15 (low nibbles of bytes 0..7, 8..15), then i+16.. and i+24.. (high nibbles).
                for (int part = 0; part < 4; part++)
                {
                    int bytes = g * (Group / 2) + (part & 1) * 8;
                    var (l0, h0) = Narrow(w0 + bytes, c0);
                    var (l1, h1) = Narrow(w1 + bytes, c1);
                    var e0 = part < 2 ? l0 : h0;
                    var e1 = part < 2 ? l1 : h1;
                    int j = i + part * 8;
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
