using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// y (rows, N) = x W^T for Q4_0 weights and int8 activations (<see cref="QuantizedActivations.Int8"/>), the
/// product ggml computes as Q4_0 x Q8_0, arranged so that the 4-bit values never leave the integer domain and each
/// group's 32 products are summed in integers before anything is converted:
/// <list type="bullet">
/// <item>the weights go four groups (a quad, 128 inputs, 64 packed bytes) at a time: one load, one mask gives the 64
/// low nibbles (inputs 0..15 of each group), one shift and one mask the 64 high ones (inputs 16..31);</item>
/// <item>the nibbles are used as they are stored, unsigned 0..15: vpmaddubsw multiplies them with the signed int8
/// activations directly (pairs stay far below int16 saturation, 2 x 15 x 127), the low and the high products are
/// added as int16 (still far from it), and one vpmaddwd leaves 16 int32 lanes, four per group; the offset of 8 comes
/// back as one integer subtraction of 8 x (the activations' sums), prepared once per activation row;</item>
/// <item>the activations are stored permuted per quad in the nibbles' order (the four groups' inputs 0..15, then
/// their inputs 16..31), and each group's weight scale times activation scale is laid out four lanes per group, so
/// one FMA per 128 weights applies them.</item>
/// </list>
/// Per 128 weights and activation row: two vpmaddubsw, one add, one vpmaddwd, the subtraction, the conversion and
/// the FMA, plus the unpacking (three operations, shared by the rows of a tile).
/// <para>
/// Every output is one chain whatever the rows, tile, worker or width: per quad, 16 int32 lanes (each the exact sum
/// of eight products, minus the offset), converted to float and FMA'd with the scales into 16 float lanes; at the
/// end lanes 0..7 and 8..15 are added and the eight summed. The Vector256 path holds the same 16 lanes in two halves,
/// so it gives the Vector512 path's results bit for bit. A row whose groups are not a multiple of four ends with a
/// quad padded with zero groups (weights, activations and scales), which add exact zeros.
/// </para>
/// </summary>
internal readonly unsafe struct Q4Int8Product(byte* w, ushort* wScales, Q4Int8Product.Activations x, float* y, int rows, int n, int k, bool wide)
    : MatMul.IJob, IScaledTiles
{
    private const int Group = QuantizedGroup.Size, Quad = 4 * Group, QuadBytes = Quad / 2;

    /// <summary>
    /// The activations as the kernel reads them, per row: <see cref="Padded"/> int8 values permuted by quads, the
    /// offsets 8 x (sum of each lane's eight activations) as int32 (16 per quad), and each group's scale four times.
    /// </summary>
    public readonly struct Activations(sbyte* values, int* offsets, float* scales, float* groupScales, int padded)
    {
        public readonly sbyte* Values = values;
        public readonly int* Offsets = offsets;
        public readonly float* Scales = scales;

        /// <summary>One scale per group (rows, k / 32), as <see cref="Int8Activations.Quantize"/> wrote them.</summary>
        public readonly float* GroupScales = groupScales;

        /// <summary>Inputs per row rounded up to a whole quad of groups (128).</summary>
        public readonly int Padded = padded;

        public static int PaddedLength(int k) => (k + Quad - 1) / Quad * Quad;

        /// <summary>
        /// Fills the buffers from x quantized by <see cref="Int8Activations.Quantize"/> (q in input order, one scale per
        /// group): within each quad, inputs 0..15 of its four groups, then inputs 16..31 of the four; zeros past k.
        /// </summary>
        public static void Prepare(sbyte* q, float* groupScales, int rows, int k, sbyte* values, int* offsets, float* scales)
        {
            int padded = PaddedLength(k), groups = k / Group;
            for (int row = 0; row < rows; row++)
            {
                sbyte* source = q + (long)row * k;
                sbyte* target = values + (long)row * padded;
                for (int quad = 0; quad < padded / Quad; quad++)
                    for (int half = 0; half < 2; half++)
                        for (int g = 0; g < 4; g++)
                        {
                            int group = 4 * quad + g;
                            sbyte* to = target + quad * Quad + half * QuadBytes + g * 16;
                            if (group < groups) new ReadOnlySpan<sbyte>(source + group * Group + half * 16, 16).CopyTo(new Span<sbyte>(to, 16));
                            else new Span<sbyte>(to, 16).Clear();
                        }
                // Lane i of a quad sums the low-nibble products of its bytes 4i..4i+3 and the high-nibble ones of the same bytes.
                int* offset = offsets + (long)row * (padded / 8);
                for (int lane = 0; lane < padded / 8; lane++)
                {
                    sbyte* low = target + lane / 16 * Quad + 4 * (lane % 16), high = low + QuadBytes;
                    offset[lane] = 8 * (low[0] + low[1] + low[2] + low[3] + high[0] + high[1] + high[2] + high[3]);
                }
                float* scale = scales + (long)row * (padded / 8);
                for (int group = 0; group < padded / Group; group++)
                    for (int j = 0; j < 4; j++) scale[4 * group + j] = group < groups ? groupScales[(long)row * groups + group] : 0f;
            }
        }
    }

    /// <summary>Every product's y = x W^T; x is quantized and prepared once for all of them.</summary>
    public static void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        int padded = Activations.PaddedLength(k);
        var pool = System.Buffers.ArrayPool<byte>.Shared;
        byte[] q = pool.Rent(rows * k), values = pool.Rent(rows * padded);
        float[] groupScales = System.Buffers.ArrayPool<float>.Shared.Rent(rows * (k / Group));
        float[] scales = System.Buffers.ArrayPool<float>.Shared.Rent(rows * (padded / 8));
        int[] offsets = System.Buffers.ArrayPool<int>.Shared.Rent(rows * (padded / 8));
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
                var activations = new Activations((sbyte*)valuesPtr, offsetsPtr, scalesPtr, groupScalesPtr, padded);
                var jobs = new Q4Int8Product[products.Length];
                for (int i = 0; i < jobs.Length; i++)
                {
                    var weights = products[i].W;
                    jobs[i] = new(weights.Data, weights.Scales, activations, (float*)products[i].Y, rows, weights.Rows, k, settings.UseVector512);
                }
                MatMul.Run(jobs, settings.Threads, done);
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

    /// <summary>Split by columns only: the quantized activations' buffers are laid out for the whole call.</summary>
    public bool SplitsRows => false;

    public void RowColumns(int first, int count, int start, int end) => throw new NotSupportedException("integer products split by columns only");
    public int ScaleStride => x.Padded / 8;

    private int Groups => k / Group;
    private int Quads => x.Padded / Quad;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Columns(int start, int end)
    {
        int col = wide ? ScaledTiles.Run(this, start, end, rows) : start;
        for (; col < end; col++)
            for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row);
    }

    /// <summary>Each group's weight scale four times, 0 for the padding groups.</summary>
    public void WeightScales(int col, float* target) => WeightScales(col, target, null);

    /// <summary>Each group's weight scale four times, 0 for the padding groups; then, if given, times the activation row's.</summary>
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

    /// <summary>
    /// The packed bytes of row <paramref name="col"/>'s last quad when its groups do not fill it, the missing groups
    /// zero, in <paramref name="scratch"/> (64 bytes).
    /// </summary>
    private byte* PartialQuad(int col, int quad, byte* scratch)
    {
        int count = (Groups - 4 * quad) * (Group / 2);
        new Span<byte>(scratch, QuadBytes).Clear();
        new ReadOnlySpan<byte>(w + (long)col * (k / 2) + quad * QuadBytes, count).CopyTo(new Span<byte>(scratch, count));
        return scratch;
    }

    /// <summary>The exact integer sums of one quad: 16 lanes of eight nibble x activation products, less the offsets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sums(Vector512<byte> low, Vector512<byte> high, Vector512<sbyte> lowX, Vector512<sbyte> highX, Vector512<int> offsets, Vector512<short> ones) =>
        Avx512F.ConvertToVector512Single(
            Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low, lowX) + Avx512BW.MultiplyAddAdjacent(high, highX), ones) - offsets);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sums(Vector256<byte> packed, sbyte* lowX, sbyte* highX, int* offsets)
    {
        var low4 = Vector256.Create((byte)0xF);
        var products = Avx2.MultiplyAddAdjacent(packed & low4, Vector256.Load(lowX))
            + Avx2.MultiplyAddAdjacent((packed.AsUInt16() >>> 4).AsByte() & low4, Vector256.Load(highX));
        return Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(products, Vector256.Create((short)1)) - Vector256.Load(offsets));
    }

    /// <summary>Group <paramref name="group"/>'s weight scale, 0 for a padding group.</summary>
    private float ScaleOf(ushort* bits, int group) => group < Groups ? QuantizedGroup.ScaleToFloat(bits[group]) : 0f;

    /// <summary>One output: the chain every tile computes, in two halves of eight lanes, with the scales made on the way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Dot(int col, int row)
    {
        sbyte* xv = x.Values + (long)row * x.Padded;
        int* xo = x.Offsets + (long)row * (x.Padded / 8);
        float* xs = x.Scales + (long)row * (x.Padded / 8);
        ushort* bits = wScales + (long)col * Groups;
        byte* scratch = stackalloc byte[QuadBytes];
        Vector256<float> lower = default, upper = default;
        for (int quad = 0; quad < Quads; quad++)
        {
            byte* bytes = 4 * quad + 4 <= Groups ? w + (long)col * (k / 2) + quad * QuadBytes : PartialQuad(col, quad, scratch);
            int g = 4 * quad;
            var first = Vector256.Create(Vector128.Create(ScaleOf(bits, g)), Vector128.Create(ScaleOf(bits, g + 1))) * Vector256.Load(xs + 16 * quad);
            var second = Vector256.Create(Vector128.Create(ScaleOf(bits, g + 2)), Vector128.Create(ScaleOf(bits, g + 3))) * Vector256.Load(xs + 16 * quad + 8);
            sbyte* lowX = xv + quad * Quad;
            lower = Vector256.FusedMultiplyAdd(Sums(Vector256.Load(bytes), lowX, lowX + QuadBytes, xo + 16 * quad), first, lower);
            upper = Vector256.FusedMultiplyAdd(Sums(Vector256.Load(bytes + 32), lowX + 32, lowX + QuadBytes + 32, xo + 16 * quad + 8), second, upper);
        }
        return Vector256.Sum(lower + upper);
    }

    /// <summary>
    /// One activation row against four weight rows (the T = 1 path). The loop is written for the JIT: row pointers and
    /// constants in locals, no call or branch inside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile1x4(int col, int row, float* scales)
    {
        if (k % (16 * Group) == 0)
        {
            Tile1x4ByBlocks(col, row);
            return;
        }
        int stride = x.Padded / 8, quads = x.Padded / Quad, fullQuads = k / Group / 4;
        long rowBytes = k / 2;
        float* xs = x.Scales + (long)row * stride;
        // Four rows of combined scales: the buffer holds 4 x stride floats.
        for (int j = 0; j < 4; j++) WeightScales(col + j, scales + j * stride, xs);
        sbyte* xv = x.Values + (long)row * x.Padded;
        int* xo = x.Offsets + (long)row * stride;
        byte* w0 = w + col * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        byte* next = w3 + rowBytes;   // the next column tile's rows follow these four in memory (see TiledProduct.Tile1x4)
        // A last partial quad is read from copies padded with zero groups; the loop picks the address, no branch.
        byte* scratch = stackalloc byte[4 * QuadBytes];
        if (fullQuads < quads)
            for (int j = 0; j < 4; j++) PartialQuad(col + j, fullQuads, scratch + j * QuadBytes);
        float* s0 = scales, s1 = scales + stride, s2 = scales + 2 * stride, s3 = scales + 3 * stride;
        var low4 = Vector512.Create((byte)0xF);
        var ones = Vector512.Create((short)1);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int quad = 0; quad < quads; quad++)
        {
            long at = quad * QuadBytes;
            bool full = quad < fullQuads;
            Sse.Prefetch1(next + at);
            Sse.Prefetch1(next + rowBytes + at);
            Sse.Prefetch1(next + 2 * rowBytes + at);
            Sse.Prefetch1(next + 3 * rowBytes + at);
            var lowX = Vector512.Load(xv + quad * Quad);
            var highX = Vector512.Load(xv + quad * Quad + QuadBytes);
            var offsets = Vector512.Load(xo + 16 * quad);
            var b = Vector512.Load(full ? w0 + at : scratch);
            a0 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Vector512.Load(s0 + 16 * quad), a0);
            b = Vector512.Load(full ? w1 + at : scratch + QuadBytes);
            a1 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Vector512.Load(s1 + 16 * quad), a1);
            b = Vector512.Load(full ? w2 + at : scratch + 2 * QuadBytes);
            a2 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Vector512.Load(s2 + 16 * quad), a2);
            b = Vector512.Load(full ? w3 + at : scratch + 3 * QuadBytes);
            a3 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Vector512.Load(s3 + 16 * quad), a3);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a0.GetLower() + a0.GetUpper());
        yr[1] = Vector256.Sum(a1.GetLower() + a1.GetUpper());
        yr[2] = Vector256.Sum(a2.GetLower() + a2.GetUpper());
        yr[3] = Vector256.Sum(a3.GetLower() + a3.GetUpper());
    }

    /// <summary>
    /// <see cref="Tile1x4"/> for rows of whole blocks of 16 groups (every real shape): the scales never go through a
    /// buffer. Per block and weight row, its 16 fp16 scales are converted and multiplied by the activation row's in
    /// one register, and each quad's four-lanes-per-group vector is permuted out of it: the same products, in the same
    /// lanes, as the buffer holds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile1x4ByBlocks(int col, int row)
    {
        int groups = k / Group, stride = x.Padded / 8;
        long rowBytes = k / 2;
        float* xg = x.GroupScales + (long)row * groups;
        sbyte* xv = x.Values + (long)row * x.Padded;
        int* xo = x.Offsets + (long)row * stride;
        byte* w0 = w + col * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        byte* next = w3 + rowBytes;   // the next column tile's rows follow these four in memory (see TiledProduct.Tile1x4)
        ushort* bits0 = wScales + (long)col * groups, bits1 = bits0 + groups, bits2 = bits1 + groups, bits3 = bits2 + groups;
        var low4 = Vector512.Create((byte)0xF);
        var ones = Vector512.Create((short)1);
        var spread = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        var four = Vector512.Create(4);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int block = 0; block < groups / 16; block++)
        {
            var xs = Vector512.Load(xg + 16 * block);
            var d0 = QuantizedGroup.ScalesToFloat(bits0 + 16 * block) * xs;
            var d1 = QuantizedGroup.ScalesToFloat(bits1 + 16 * block) * xs;
            var d2 = QuantizedGroup.ScalesToFloat(bits2 + 16 * block) * xs;
            var d3 = QuantizedGroup.ScalesToFloat(bits3 + 16 * block) * xs;
            var lanes = spread;   // quad j of the block: groups 4j..4j+3, four lanes each
            for (int quad = 4 * block; quad < 4 * block + 4; quad++, lanes += four)
            {
                long at = quad * QuadBytes;
                Sse.Prefetch1(next + at);
                Sse.Prefetch1(next + rowBytes + at);
                Sse.Prefetch1(next + 2 * rowBytes + at);
                Sse.Prefetch1(next + 3 * rowBytes + at);
                var lowX = Vector512.Load(xv + quad * Quad);
                var highX = Vector512.Load(xv + quad * Quad + QuadBytes);
                var offsets = Vector512.Load(xo + 16 * quad);
                var b = Vector512.Load(w0 + at);
                a0 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Avx512F.PermuteVar16x32(d0, lanes), a0);
                b = Vector512.Load(w1 + at);
                a1 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Avx512F.PermuteVar16x32(d1, lanes), a1);
                b = Vector512.Load(w2 + at);
                a2 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Avx512F.PermuteVar16x32(d2, lanes), a2);
                b = Vector512.Load(w3 + at);
                a3 = Vector512.FusedMultiplyAdd(Sums(b & low4, (b.AsUInt16() >>> 4).AsByte() & low4, lowX, highX, offsets, ones), Avx512F.PermuteVar16x32(d3, lanes), a3);
            }
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a0.GetLower() + a0.GetUpper());
        yr[1] = Vector256.Sum(a1.GetLower() + a1.GetUpper());
        yr[2] = Vector256.Sum(a2.GetLower() + a2.GetUpper());
        yr[3] = Vector256.Sum(a3.GetLower() + a3.GetUpper());
    }

    /// <summary>
    /// Four activation rows by two weight rows: each quad's nibbles are unpacked once for four rows; the scales are
    /// the weight rows' (<paramref name="scales0"/>, <paramref name="scales1"/>) times each activation row's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile4x2(int col, int row, float* scales0, float* scales1)
    {
        int quads = x.Padded / Quad, fullQuads = k / Group / 4;
        long valuesStride = x.Padded, laneStride = x.Padded / 8, rowBytes = k / 2;
        sbyte* xv0 = x.Values + row * valuesStride, xv1 = xv0 + valuesStride, xv2 = xv1 + valuesStride, xv3 = xv2 + valuesStride;
        int* xo0 = x.Offsets + row * laneStride, xo1 = xo0 + laneStride, xo2 = xo1 + laneStride, xo3 = xo2 + laneStride;
        float* xs0 = x.Scales + row * laneStride, xs1 = xs0 + laneStride, xs2 = xs1 + laneStride, xs3 = xs2 + laneStride;
        byte* w0 = w + col * rowBytes, w1 = w0 + rowBytes;
        byte* scratch = stackalloc byte[2 * QuadBytes];
        if (fullQuads < quads)
        {
            PartialQuad(col, fullQuads, scratch);
            PartialQuad(col + 1, fullQuads, scratch + QuadBytes);
        }
        var low4 = Vector512.Create((byte)0xF);
        var ones = Vector512.Create((short)1);
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector512<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int quad = 0; quad < quads; quad++)
        {
            bool full = quad < fullQuads;
            var b0 = Vector512.Load(full ? w0 + quad * QuadBytes : scratch);
            var low0 = b0 & low4;
            var high0 = (b0.AsUInt16() >>> 4).AsByte() & low4;
            var b1 = Vector512.Load(full ? w1 + quad * QuadBytes : scratch + QuadBytes);
            var low1 = b1 & low4;
            var high1 = (b1.AsUInt16() >>> 4).AsByte() & low4;
            var ws0 = Vector512.Load(scales0 + 16 * quad);
            var ws1 = Vector512.Load(scales1 + 16 * quad);
            int v = quad * Quad, lane = 16 * quad;

            var lowX = Vector512.Load(xv0 + v);
            var highX = Vector512.Load(xv0 + v + QuadBytes);
            var offsets = Vector512.Load(xo0 + lane);
            var s = Vector512.Load(xs0 + lane);
            a00 = Vector512.FusedMultiplyAdd(Sums(low0, high0, lowX, highX, offsets, ones), ws0 * s, a00);
            a01 = Vector512.FusedMultiplyAdd(Sums(low1, high1, lowX, highX, offsets, ones), ws1 * s, a01);

            lowX = Vector512.Load(xv1 + v);
            highX = Vector512.Load(xv1 + v + QuadBytes);
            offsets = Vector512.Load(xo1 + lane);
            s = Vector512.Load(xs1 + lane);
            a10 = Vector512.FusedMultiplyAdd(Sums(low0, high0, lowX, highX, offsets, ones), ws0 * s, a10);
            a11 = Vector512.FusedMultiplyAdd(Sums(low1, high1, lowX, highX, offsets, ones), ws1 * s, a11);

            lowX = Vector512.Load(xv2 + v);
            highX = Vector512.Load(xv2 + v + QuadBytes);
            offsets = Vector512.Load(xo2 + lane);
            s = Vector512.Load(xs2 + lane);
            a20 = Vector512.FusedMultiplyAdd(Sums(low0, high0, lowX, highX, offsets, ones), ws0 * s, a20);
            a21 = Vector512.FusedMultiplyAdd(Sums(low1, high1, lowX, highX, offsets, ones), ws1 * s, a21);

            lowX = Vector512.Load(xv3 + v);
            highX = Vector512.Load(xv3 + v + QuadBytes);
            offsets = Vector512.Load(xo3 + lane);
            s = Vector512.Load(xs3 + lane);
            a30 = Vector512.FusedMultiplyAdd(Sums(low0, high0, lowX, highX, offsets, ones), ws0 * s, a30);
            a31 = Vector512.FusedMultiplyAdd(Sums(low1, high1, lowX, highX, offsets, ones), ws1 * s, a31);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a00.GetLower() + a00.GetUpper()); yr[1] = Vector256.Sum(a01.GetLower() + a01.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a10.GetLower() + a10.GetUpper()); yr[1] = Vector256.Sum(a11.GetLower() + a11.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a20.GetLower() + a20.GetUpper()); yr[1] = Vector256.Sum(a21.GetLower() + a21.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a30.GetLower() + a30.GetUpper()); yr[1] = Vector256.Sum(a31.GetLower() + a31.GetUpper());
    }
}
