using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// y (rows, N) = x W^T for Q4_0 weights and int8 activations (<see cref="KernelSettings.Int8Activations"/>), the
/// product ggml computes as Q4_0 x Q8_0, arranged so that the 4-bit values never leave the integer domain:
/// <list type="bullet">
/// <item>the nibbles are used as they are stored, unsigned 0..15: vpmaddubsw multiplies them with the signed int8
/// activations directly (no sign juggling; pairs stay far below int16 saturation, 2 x 15 x 127), and the offset of 8
/// comes back as one integer subtraction of 8 x (the activations' sum) prepared once per activation row;</item>
/// <item>the activations are stored permuted, per pair of groups, in the order the nibbles come out of 32 packed
/// bytes (all low nibbles, then all high), so one broadcast load, one shift and one mask unpack 64 weights;</item>
/// <item>each group's weight scale times activation scale is computed once per row into a buffer, four lanes per
/// group, so the loop applies it with one FMA per 64 weights.</item>
/// </list>
/// Eight vector operations per 64 weights where the float path needs fourteen.
/// <para>
/// Every output is one chain whatever the rows, tile, worker or width: per pair of groups, 16 int32 lanes (each the
/// exact sum of four products, minus the offset), converted to float and FMA'd with the scales into 16 float lanes;
/// at the end lanes 0..7 and 8..15 are added and the eight summed. The Vector256 path holds the same 16 lanes in two
/// halves, so it gives the Vector512 path's results bit for bit. A row with an odd number of groups ends with a pair
/// whose second group is zero (its weights, activations and scales), which adds exact zeros.
/// </para>
/// </summary>
internal readonly unsafe struct Q4Int8Product(byte* w, ushort* wScales, Q4Int8Product.Activations x, float* y, int rows, int n, int k, bool wide)
    : MatMul.IJob, IScaledTiles
{
    private const int Group = QuantizedGroup.Size, Pair = 2 * Group;

    /// <summary>
    /// The activations as the kernel reads them, per row: <see cref="Padded"/> int8 values permuted by pairs of groups,
    /// the offsets 8 x (sum of each four of them) as int32 (one per lane), and each group's scale four times.
    /// </summary>
    public readonly struct Activations(sbyte* values, int* offsets, float* scales, int padded)
    {
        public readonly sbyte* Values = values;
        public readonly int* Offsets = offsets;
        public readonly float* Scales = scales;

        /// <summary>Inputs per row rounded up to a whole pair of groups (64).</summary>
        public readonly int Padded = padded;

        public static int PaddedLength(int k) => (k + Pair - 1) / Pair * Pair;

        /// <summary>
        /// Fills the buffers from x quantized by <see cref="Int8Activations.Quantize"/> (q in input order, one scale per
        /// group): within each pair of groups, inputs 0..15 of both groups, then inputs 16..31 of both; zeros past k.
        /// </summary>
        public static void Prepare(sbyte* q, float* groupScales, int rows, int k, sbyte* values, int* offsets, float* scales)
        {
            int padded = PaddedLength(k), groups = k / Group;
            for (int row = 0; row < rows; row++)
            {
                sbyte* source = q + (long)row * k;
                sbyte* target = values + (long)row * padded;
                for (int p = 0; p < padded / Pair; p++)
                    for (int half = 0; half < 2; half++)
                        for (int g = 0; g < 2; g++)
                        {
                            int group = 2 * p + g;
                            sbyte* to = target + p * Pair + half * Group + g * 16;
                            if (group < groups) new ReadOnlySpan<sbyte>(source + group * Group + half * 16, 16).CopyTo(new Span<sbyte>(to, 16));
                            else new Span<sbyte>(to, 16).Clear();
                        }
                int* offset = offsets + (long)row * (padded / 4);
                for (int lane = 0; lane < padded / 4; lane++)
                    offset[lane] = 8 * (target[4 * lane] + target[4 * lane + 1] + target[4 * lane + 2] + target[4 * lane + 3]);
                float* scale = scales + (long)row * (padded / 8);
                for (int group = 0; group < padded / Group; group++)
                    for (int j = 0; j < 4; j++) scale[4 * group + j] = group < groups ? groupScales[(long)row * groups + group] : 0f;
            }
        }
    }

    /// <summary>Every product's y = x W^T; x is quantized and prepared once for all of them.</summary>
    public static void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings)
    {
        int padded = Activations.PaddedLength(k);
        var pool = System.Buffers.ArrayPool<byte>.Shared;
        byte[] q = pool.Rent(rows * k), values = pool.Rent(rows * padded);
        float[] groupScales = System.Buffers.ArrayPool<float>.Shared.Rent(rows * (k / Group));
        float[] scales = System.Buffers.ArrayPool<float>.Shared.Rent(rows * (padded / 8));
        int[] offsets = System.Buffers.ArrayPool<int>.Shared.Rent(rows * (padded / 4));
        try
        {
            fixed (byte* qPtr = q)
            fixed (byte* valuesPtr = values)
            fixed (float* groupScalesPtr = groupScales)
            fixed (float* scalesPtr = scales)
            fixed (int* offsetsPtr = offsets)
            {
                Int8Activations.Quantize(x, rows, k, (sbyte*)qPtr, groupScalesPtr);
                Activations.Prepare((sbyte*)qPtr, groupScalesPtr, rows, k, (sbyte*)valuesPtr, offsetsPtr, scalesPtr);
                var activations = new Activations((sbyte*)valuesPtr, offsetsPtr, scalesPtr, padded);
                var jobs = new Q4Int8Product[products.Length];
                for (int i = 0; i < jobs.Length; i++)
                {
                    var weights = products[i].W;
                    jobs[i] = new(weights.Data, weights.Scales, activations, (float*)products[i].Y, rows, weights.Rows, k, settings.UseVector512);
                }
                MatMul.Run(jobs, settings.Threads);
            }
        }
        finally
        {
            pool.Return(q);
            pool.Return(values);
            System.Buffers.ArrayPool<float>.Shared.Return(groupScales);
            System.Buffers.ArrayPool<float>.Shared.Return(scales);
            System.Buffers.ArrayPool<int>.Shared.Return(offsets);
        }
    }

    public int N => n;
    public int Rows => rows;
    public int K => k;
    public int ScaleStride => x.Padded / 8;

    private int Groups => k / Group;
    private int Pairs => x.Padded / Pair;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Columns(int start, int end)
    {
        int col = wide ? ScaledTiles.Run(this, start, end, rows) : start;
        for (; col < end; col++)
            for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row);
    }

    /// <summary>Each group's weight scale four times, 0 for the padding group; then, if given, times the activation row's.</summary>
    public void WeightScales(int col, float* target) => WeightScales(col, target, null);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightScales(int col, float* target, float* activationScales)
    {
        ushort* bits = wScales + (long)col * Groups;
        int group = 0;
        if (wide)
        {
            // Lanes 4g..4g+3 of the four vectors hold scale g of the 16.
            var spread0 = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
            var spread1 = spread0 + Vector512.Create(4);
            var spread2 = spread0 + Vector512.Create(8);
            var spread3 = spread0 + Vector512.Create(12);
            for (; group + 16 <= Groups; group += 16)
            {
                var s = QuantizedGroup.ScalesToFloat(bits + group);
                float* t = target + 4 * group;
                var v0 = Avx512F.PermuteVar16x32(s, spread0);
                var v1 = Avx512F.PermuteVar16x32(s, spread1);
                var v2 = Avx512F.PermuteVar16x32(s, spread2);
                var v3 = Avx512F.PermuteVar16x32(s, spread3);
                if (activationScales != null)
                {
                    float* a = activationScales + 4 * group;
                    v0 *= Vector512.Load(a); v1 *= Vector512.Load(a + 16); v2 *= Vector512.Load(a + 32); v3 *= Vector512.Load(a + 48);
                }
                v0.Store(t); v1.Store(t + 16); v2.Store(t + 32); v3.Store(t + 48);
            }
        }
        for (; group < x.Padded / Group; group++)
        {
            var s = Vector128.Create(group < Groups ? QuantizedGroup.ScaleToFloat(bits[group]) : 0f);
            if (activationScales != null) s *= Vector128.Load(activationScales + 4 * group);
            s.Store(target + 4 * group);
        }
    }

    /// <summary>Pair <paramref name="p"/>'s 64 nibbles of row <paramref name="col"/>, unsigned, in the activations' order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector512<byte> Nibbles(int col, int p)
    {
        byte* bytes = w + (long)col * (k / 2) + p * Group;
        Vector512<ushort> both = 2 * p + 1 < Groups
            ? Avx512F.BroadcastVector256ToVector512((ulong*)bytes).AsUInt16()
            : Vector512.Create(Vector256.Create(Vector128.Load(bytes), Vector128<byte>.Zero), Vector256.Create(Vector128.Load(bytes), Vector128<byte>.Zero)).AsUInt16();   // the last group alone
        // Lower half as it is, upper half shifted by 4 (within 16-bit lanes; the mask drops the neighbour's bits).
        var shifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)4));
        return Avx512BW.ShiftRightLogicalVariable(both, shifts).AsByte() & Vector512.Create((byte)0xF);
    }

    /// <summary>The exact integer sums of one pair: 16 lanes of four nibble x activation products, less the offsets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sums(Vector512<byte> nibbles, sbyte* values, int* offsets) =>
        Avx512F.ConvertToVector512Single(
            Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, Vector512.Load(values)), Vector512.Create((short)1))
            - Vector512.Load(offsets));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sums(Vector256<byte> nibbles, sbyte* values, int* offsets) =>
        Avx.ConvertToVector256Single(
            Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nibbles, Vector256.Load(values)), Vector256.Create((short)1))
            - Vector256.Load(offsets));

    /// <summary>One output: the chain every tile computes, with the scales made on the way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Dot(int col, int row)
    {
        sbyte* xv = x.Values + (long)row * x.Padded;
        int* xo = x.Offsets + (long)row * (x.Padded / 4);
        float* xs = x.Scales + (long)row * (x.Padded / 8);
        ushort* bits = wScales + (long)col * Groups;
        var low4 = Vector256.Create((byte)0xF);
        Vector256<float> lower = default, upper = default;
        for (int p = 0; p < Pairs; p++)
        {
            byte* bytes = w + (long)col * (k / 2) + p * Group;
            var packed = 2 * p + 1 < Groups ? Vector256.Load(bytes) : Vector256.Create(Vector128.Load(bytes), Vector128<byte>.Zero);
            float second = 2 * p + 1 < Groups ? QuantizedGroup.ScaleToFloat(bits[2 * p + 1]) : 0f;
            var scale = Vector256.Create(Vector128.Create(QuantizedGroup.ScaleToFloat(bits[2 * p])), Vector128.Create(second)) * Vector256.Load(xs + 8 * p);
            lower = Vector256.FusedMultiplyAdd(Sums(packed & low4, xv + p * Pair, xo + 16 * p), scale, lower);
            upper = Vector256.FusedMultiplyAdd(Sums((packed.AsUInt16() >>> 4).AsByte() & low4, xv + p * Pair + Group, xo + 16 * p + 8), scale, upper);
        }
        return Vector256.Sum(lower + upper);
    }

    /// <summary>
    /// 64 nibbles from 32 packed bytes, in the activations' order: the bytes broadcast to both halves, the upper half
    /// shifted right by 4 within 16-bit lanes (<paramref name="shifts"/>), and the mask dropping the neighbours' bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Unpack(byte* bytes, Vector512<ushort> shifts, Vector512<byte> low4) =>
        Avx512BW.ShiftRightLogicalVariable(Avx512F.BroadcastVector256ToVector512((ulong*)bytes).AsUInt16(), shifts).AsByte() & low4;

    /// <summary><see cref="Sums(Vector512{byte}, sbyte*, int*)"/> with the activations already loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sums(Vector512<byte> nibbles, Vector512<sbyte> values, Vector512<int> offsets, Vector512<short> ones) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, values), ones) - offsets);

    /// <summary>Eight floats at <paramref name="scales"/> in both halves: one pair's four lanes per group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairScales(float* scales) => Avx512F.BroadcastVector256ToVector512((double*)scales).AsSingle();

    /// <summary>
    /// One activation row against four weight rows (the T = 1 path). The loop is written for the JIT: row pointers and
    /// constants in locals, no branch inside (a last lone group goes through <see cref="Nibbles"/> after it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile1x4(int col, int row, float* scales)
    {
        int stride = x.Padded / 8, pairs = x.Padded / Pair, fullPairs = k / Group / 2;
        long rowBytes = k / 2;
        float* xs = x.Scales + (long)row * stride;
        // Four rows of combined scales: the buffer holds 4 x stride floats.
        for (int j = 0; j < 4; j++) WeightScales(col + j, scales + j * stride, xs);
        sbyte* xv = x.Values + (long)row * x.Padded;
        int* xo = x.Offsets + (long)row * (x.Padded / 4);
        byte* w0 = w + col * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        byte* next = w3 + rowBytes;   // the next column tile's rows follow these four in memory (see TiledProduct.Tile1x4)
        float* s0 = scales, s1 = scales + stride, s2 = scales + 2 * stride, s3 = scales + 3 * stride;
        var shifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)4));
        var low4 = Vector512.Create((byte)0xF);
        var ones = Vector512.Create((short)1);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int p = 0; p < fullPairs; p++)
        {
            long at = p * Group;
            Sse.Prefetch0(next + at);
            Sse.Prefetch0(next + rowBytes + at);
            Sse.Prefetch0(next + 2 * rowBytes + at);
            Sse.Prefetch0(next + 3 * rowBytes + at);
            var values = Vector512.Load(xv + p * Pair);
            var offsets = Vector512.Load(xo + 16 * p);
            a0 = Vector512.FusedMultiplyAdd(Sums(Unpack(w0 + at, shifts, low4), values, offsets, ones), PairScales(s0 + 8 * p), a0);
            a1 = Vector512.FusedMultiplyAdd(Sums(Unpack(w1 + at, shifts, low4), values, offsets, ones), PairScales(s1 + 8 * p), a1);
            a2 = Vector512.FusedMultiplyAdd(Sums(Unpack(w2 + at, shifts, low4), values, offsets, ones), PairScales(s2 + 8 * p), a2);
            a3 = Vector512.FusedMultiplyAdd(Sums(Unpack(w3 + at, shifts, low4), values, offsets, ones), PairScales(s3 + 8 * p), a3);
        }
        for (int p = fullPairs; p < pairs; p++)
        {
            sbyte* values = xv + p * Pair;
            int* offsets = xo + 16 * p;
            a0 = Vector512.FusedMultiplyAdd(Sums(Nibbles(col, p), values, offsets), PairScales(s0 + 8 * p), a0);
            a1 = Vector512.FusedMultiplyAdd(Sums(Nibbles(col + 1, p), values, offsets), PairScales(s1 + 8 * p), a1);
            a2 = Vector512.FusedMultiplyAdd(Sums(Nibbles(col + 2, p), values, offsets), PairScales(s2 + 8 * p), a2);
            a3 = Vector512.FusedMultiplyAdd(Sums(Nibbles(col + 3, p), values, offsets), PairScales(s3 + 8 * p), a3);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a0.GetLower() + a0.GetUpper());
        yr[1] = Vector256.Sum(a1.GetLower() + a1.GetUpper());
        yr[2] = Vector256.Sum(a2.GetLower() + a2.GetUpper());
        yr[3] = Vector256.Sum(a3.GetLower() + a3.GetUpper());
    }

    /// <summary>
    /// Four activation rows by two weight rows: each pair's nibbles are unpacked once for four rows; the scales are
    /// the weight rows' (<paramref name="scales0"/>, <paramref name="scales1"/>) times each activation row's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile4x2(int col, int row, float* scales0, float* scales1)
    {
        int pairs = x.Padded / Pair, fullPairs = k / Group / 2;
        long valuesStride = x.Padded, offsetsStride = x.Padded / 4, scalesStride = x.Padded / 8, rowBytes = k / 2;
        sbyte* xv0 = x.Values + row * valuesStride, xv1 = xv0 + valuesStride, xv2 = xv1 + valuesStride, xv3 = xv2 + valuesStride;
        int* xo0 = x.Offsets + row * offsetsStride, xo1 = xo0 + offsetsStride, xo2 = xo1 + offsetsStride, xo3 = xo2 + offsetsStride;
        float* xs0 = x.Scales + row * scalesStride, xs1 = xs0 + scalesStride, xs2 = xs1 + scalesStride, xs3 = xs2 + scalesStride;
        byte* w0 = w + col * rowBytes, w1 = w0 + rowBytes;
        var shifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)4));
        var low4 = Vector512.Create((byte)0xF);
        var ones = Vector512.Create((short)1);
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector512<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int p = 0; p < pairs; p++)
        {
            Vector512<byte> n0, n1;
            if (p < fullPairs)
            {
                n0 = Unpack(w0 + p * Group, shifts, low4);
                n1 = Unpack(w1 + p * Group, shifts, low4);
            }
            else
            {
                n0 = Nibbles(col, p);
                n1 = Nibbles(col + 1, p);
            }
            var ws0 = PairScales(scales0 + 8 * p);
            var ws1 = PairScales(scales1 + 8 * p);
            int v = p * Pair, o = 16 * p, sc = 8 * p;

            var values = Vector512.Load(xv0 + v);
            var offsets = Vector512.Load(xo0 + o);
            var s = PairScales(xs0 + sc);
            a00 = Vector512.FusedMultiplyAdd(Sums(n0, values, offsets, ones), ws0 * s, a00);
            a01 = Vector512.FusedMultiplyAdd(Sums(n1, values, offsets, ones), ws1 * s, a01);

            values = Vector512.Load(xv1 + v);
            offsets = Vector512.Load(xo1 + o);
            s = PairScales(xs1 + sc);
            a10 = Vector512.FusedMultiplyAdd(Sums(n0, values, offsets, ones), ws0 * s, a10);
            a11 = Vector512.FusedMultiplyAdd(Sums(n1, values, offsets, ones), ws1 * s, a11);

            values = Vector512.Load(xv2 + v);
            offsets = Vector512.Load(xo2 + o);
            s = PairScales(xs2 + sc);
            a20 = Vector512.FusedMultiplyAdd(Sums(n0, values, offsets, ones), ws0 * s, a20);
            a21 = Vector512.FusedMultiplyAdd(Sums(n1, values, offsets, ones), ws1 * s, a21);

            values = Vector512.Load(xv3 + v);
            offsets = Vector512.Load(xo3 + o);
            s = PairScales(xs3 + sc);
            a30 = Vector512.FusedMultiplyAdd(Sums(n0, values, offsets, ones), ws0 * s, a30);
            a31 = Vector512.FusedMultiplyAdd(Sums(n1, values, offsets, ones), ws1 * s, a31);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a00.GetLower() + a00.GetUpper()); yr[1] = Vector256.Sum(a01.GetLower() + a01.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a10.GetLower() + a10.GetUpper()); yr[1] = Vector256.Sum(a11.GetLower() + a11.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a20.GetLower() + a20.GetUpper()); yr[1] = Vector256.Sum(a21.GetLower() + a21.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a30.GetLower() + a30.GetUpper()); yr[1] = Vector256.Sum(a31.GetLower() + a31.GetUpper());
    }
}
