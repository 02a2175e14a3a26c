using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// y (rows, N) = x W^T for Q8_0 weights and int8 activations (<see cref="QuantizedActivations.Int8"/>), ggml's
/// Q8_0 x Q8_0: per group, an exact integer dot product (vpmaddubsw on |w| and x carrying w's sign, then vpmaddwd
/// against ones: int32 sums of four products), converted to float and FMA'd with the two scales' product.
/// <para>
/// The scales never go through scalar code in the tiles: each weight row's 32 fp16 scales per 1024 inputs are
/// converted 16 at a time (<see cref="QuantizedGroup.ScalesToFloat"/>) into a per-row buffer, times the activation
/// row's scales for the T = 1 tile; the activations' scales are also laid out eight lanes per group once per product
/// for the four-row tile. Loops keep their pointers and constants in locals, which the JIT keeps in registers.
/// </para>
/// <para>
/// Every output is the same chain whatever the rows, tile, worker or vector width: two 8-lane float accumulators,
/// one for the even groups and one for the odd (a Vector512 holds both halves side by side), added lane by lane at
/// the end and then summed. So the Vector256 fallback gives the Vector512 path's results bit for bit.
/// </para>
/// </summary>
internal readonly unsafe struct Q8Int8Product(sbyte* w, ushort* wScales, Q8Int8Product.Activations x, float* y, int rows, int n, int k, bool wide)
    : MatMul.IJob, IScaledTiles
{
    private const int Group = QuantizedGroup.Size, Pair = 2 * Group;

    /// <summary>
    /// The activations as the kernel reads them: int8 values (rows, k), one scale per group, and the same scales eight
    /// lanes per group (the four-row tile's per-row scale vectors, loaded rather than built).
    /// </summary>
    public readonly struct Activations(sbyte* values, float* scales, float* laneScales)
    {
        public readonly sbyte* Values = values;
        public readonly float* Scales = scales;
        public readonly float* LaneScales = laneScales;
    }

    /// <summary>Every product's y = x W^T; x is quantized once for all of them.</summary>
    public static void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        int groups = k / Group;
        var q = System.Buffers.ArrayPool<byte>.Shared.Rent(rows * k);
        var scales = System.Buffers.ArrayPool<float>.Shared.Rent(rows * groups);
        var lanes = System.Buffers.ArrayPool<float>.Shared.Rent(rows * groups * 8);
        try
        {
            fixed (byte* qPtr = q)
            fixed (float* scalesPtr = scales)
            fixed (float* lanesPtr = lanes)
            {
                Int8Activations.Quantize(x, rows, k, (sbyte*)qPtr, scalesPtr);
                for (long g = 0; g < (long)rows * groups; g++) Vector256.Create(scalesPtr[g]).Store(lanesPtr + 8 * g);
                var activations = new Activations((sbyte*)qPtr, scalesPtr, lanesPtr);
                var jobs = new Q8Int8Product[products.Length];
                for (int i = 0; i < jobs.Length; i++)
                {
                    var weights = products[i].W;
                    jobs[i] = new((sbyte*)weights.Data, weights.Scales, activations, (float*)products[i].Y, rows, weights.Rows, k, settings.UseVector512);
                }
                MatMul.Run(jobs, settings.Threads, done);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(q);
            System.Buffers.ArrayPool<float>.Shared.Return(scales);
            System.Buffers.ArrayPool<float>.Shared.Return(lanes);
        }
    }

    public int N => n;
    public int Rows => rows;
    public int K => k;

    /// <summary>Split by columns only: the quantized activations' buffers are laid out for the whole call.</summary>
    public bool SplitsRows => false;

    public void RowColumns(int first, int count, int start, int end) => throw new NotSupportedException("integer products split by columns only");
    public int ScaleStride => k / Group;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Columns(int start, int end)
    {
        // The tiles walk whole pairs of groups; an odd number of groups (not in any real shape) takes the Dot path.
        int col = wide && (k / Group & 1) == 0 ? ScaledTiles.Run(this, start, end, rows) : start;
        for (; col < end; col++)
            for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row);
    }

    /// <summary>Row <paramref name="col"/>'s group scales as floats; times <paramref name="activationScales"/>' if given.</summary>
    public void WeightScales(int col, float* target) => WeightScales(col, target, null);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightScales(int col, float* target, float* activationScales)
    {
        int groups = k / Group, group = 0;
        ushort* bits = wScales + (long)col * groups;
        for (; group + 16 <= groups; group += 16)
        {
            var s = QuantizedGroup.ScalesToFloat(bits + group);
            if (activationScales != null) s *= Vector512.Load(activationScales + group);
            s.Store(target + group);
        }
        for (; group < groups; group++)
            target[group] = activationScales != null ? QuantizedGroup.ScaleToFloat(bits[group]) * activationScales[group] : QuantizedGroup.ScaleToFloat(bits[group]);
    }

    /// <summary>Sum of |w| x sign(x, w) over each four inputs: 16 int32 lanes (lanes 0..7: the first group).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Products(Vector512<sbyte> weights, Vector512<sbyte> x, Vector512<sbyte> minusX, Vector512<short> ones) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(
            Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(weights), Vector512.ConditionalSelect(Vector512.LessThan(weights, Vector512<sbyte>.Zero), minusX, x)), ones));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Products(Vector256<sbyte> weights, Vector256<sbyte> x) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(weights), Avx2.Sign(x, weights)), Vector256.Create((short)1)));

    /// <summary>Lanes 0..7 = <paramref name="scales"/>[0], 8..15 = [1]: two broadcast loads and one insert.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(float* scales) =>
        Avx512F.InsertVector256(Vector256.Create(scales[0]).ToVector512Unsafe(), Vector256.Create(scales[1]), 1);

    /// <summary>One output: the chain every tile computes, its scales converted on the way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Dot(int col, int row)
    {
        int groups = k / Group, pairEnd = k / Pair * Pair;
        sbyte* wr = w + (long)col * k;
        ushort* ws = wScales + (long)col * groups;
        sbyte* xr = x.Values + (long)row * k;
        float* sx = x.Scales + (long)row * groups;
        Vector256<float> even, odd;
        if (wide)
        {
            var ones = Vector512.Create((short)1);
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < pairEnd; c += Pair)
            {
                int g = c / Group;
                var xv = Vector512.Load(xr + c);
                var scale = Vector512.Create(Vector256.Create(QuantizedGroup.ScaleToFloat(ws[g]) * sx[g]), Vector256.Create(QuantizedGroup.ScaleToFloat(ws[g + 1]) * sx[g + 1]));
                acc = Vector512.FusedMultiplyAdd(Products(Vector512.Load(wr + c), xv, -xv, ones), scale, acc);
            }
            even = acc.GetLower();
            odd = acc.GetUpper();
        }
        else
        {
            even = odd = Vector256<float>.Zero;
            for (int c = 0; c < pairEnd; c += Pair)
            {
                int g = c / Group;
                even = Vector256.FusedMultiplyAdd(Products(Vector256.Load(wr + c), Vector256.Load(xr + c)),
                    Vector256.Create(QuantizedGroup.ScaleToFloat(ws[g]) * sx[g]), even);
                odd = Vector256.FusedMultiplyAdd(Products(Vector256.Load(wr + c + Group), Vector256.Load(xr + c + Group)),
                    Vector256.Create(QuantizedGroup.ScaleToFloat(ws[g + 1]) * sx[g + 1]), odd);
            }
        }
        if (pairEnd < k)   // an odd number of groups: the last one is even
            even = Vector256.FusedMultiplyAdd(Products(Vector256.Load(wr + pairEnd), Vector256.Load(xr + pairEnd)),
                Vector256.Create(QuantizedGroup.ScaleToFloat(ws[pairEnd / Group]) * sx[pairEnd / Group]), even);
        return Vector256.Sum(even + odd);
    }

    /// <summary>
    /// One activation row against four weight rows (the T = 1 path): the row is loaded and negated once per pair,
    /// and <paramref name="scales"/> receives the four rows' weight x activation scales.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile1x4(int col, int row, float* scales)
    {
        int groups = k / Group;
        float* xs = x.Scales + (long)row * groups;
        for (int j = 0; j < 4; j++) WeightScales(col + j, scales + j * groups, xs);
        sbyte* xr = x.Values + (long)row * k;
        sbyte* w0 = w + (long)col * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        sbyte* next = w3 + k;   // the next column tile's rows follow these four in memory (see TiledProduct.Tile1x4)
        float* s0 = scales, s1 = s0 + groups, s2 = s1 + groups, s3 = s2 + groups;
        var ones = Vector512.Create((short)1);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < k; c += Pair)
        {
            Sse.Prefetch1(next + c);
            Sse.Prefetch1(next + k + c);
            Sse.Prefetch1(next + 2L * k + c);
            Sse.Prefetch1(next + 3L * k + c);
            var xv = Vector512.Load(xr + c);
            var minusX = -xv;
            int g = c / Group;
            a0 = Vector512.FusedMultiplyAdd(Products(Vector512.Load(w0 + c), xv, minusX, ones), Halves(s0 + g), a0);
            a1 = Vector512.FusedMultiplyAdd(Products(Vector512.Load(w1 + c), xv, minusX, ones), Halves(s1 + g), a1);
            a2 = Vector512.FusedMultiplyAdd(Products(Vector512.Load(w2 + c), xv, minusX, ones), Halves(s2 + g), a2);
            a3 = Vector512.FusedMultiplyAdd(Products(Vector512.Load(w3 + c), xv, minusX, ones), Halves(s3 + g), a3);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a0.GetLower() + a0.GetUpper());
        yr[1] = Vector256.Sum(a1.GetLower() + a1.GetUpper());
        yr[2] = Vector256.Sum(a2.GetLower() + a2.GetUpper());
        yr[3] = Vector256.Sum(a3.GetLower() + a3.GetUpper());
    }

    /// <summary>
    /// Four activation rows by two weight rows: each weight pair of groups is loaded, made absolute and given its
    /// scales once for four rows; each activation row's scales come eight lanes per group from the buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Tile4x2(int col, int row, float* scales0, float* scales1)
    {
        int groups = k / Group;
        sbyte* x0 = x.Values + (long)row * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        float* l0 = x.LaneScales + (long)row * groups * 8, l1 = l0 + groups * 8, l2 = l1 + groups * 8, l3 = l2 + groups * 8;
        sbyte* wr0 = w + (long)col * k, wr1 = wr0 + k;
        var ones = Vector512.Create((short)1);
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector512<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int c = 0; c < k; c += Pair)
        {
            var w0 = Vector512.Load(wr0 + c);
            var w1 = Vector512.Load(wr1 + c);
            var negative0 = Vector512.LessThan(w0, Vector512<sbyte>.Zero);
            var negative1 = Vector512.LessThan(w1, Vector512<sbyte>.Zero);
            var abs0 = Avx512BW.Abs(w0);
            var abs1 = Avx512BW.Abs(w1);
            int g = c / Group;
            var ws0 = Halves(scales0 + g);
            var ws1 = Halves(scales1 + g);

            var xv = Vector512.Load(x0 + c);
            var minusX = -xv;
            var sx = Vector512.Load(l0 + 8 * g);
            a00 = Vector512.FusedMultiplyAdd(Sums(abs0, Vector512.ConditionalSelect(negative0, minusX, xv), ones), ws0 * sx, a00);
            a01 = Vector512.FusedMultiplyAdd(Sums(abs1, Vector512.ConditionalSelect(negative1, minusX, xv), ones), ws1 * sx, a01);

            xv = Vector512.Load(x1 + c);
            minusX = -xv;
            sx = Vector512.Load(l1 + 8 * g);
            a10 = Vector512.FusedMultiplyAdd(Sums(abs0, Vector512.ConditionalSelect(negative0, minusX, xv), ones), ws0 * sx, a10);
            a11 = Vector512.FusedMultiplyAdd(Sums(abs1, Vector512.ConditionalSelect(negative1, minusX, xv), ones), ws1 * sx, a11);

            xv = Vector512.Load(x2 + c);
            minusX = -xv;
            sx = Vector512.Load(l2 + 8 * g);
            a20 = Vector512.FusedMultiplyAdd(Sums(abs0, Vector512.ConditionalSelect(negative0, minusX, xv), ones), ws0 * sx, a20);
            a21 = Vector512.FusedMultiplyAdd(Sums(abs1, Vector512.ConditionalSelect(negative1, minusX, xv), ones), ws1 * sx, a21);

            xv = Vector512.Load(x3 + c);
            minusX = -xv;
            sx = Vector512.Load(l3 + 8 * g);
            a30 = Vector512.FusedMultiplyAdd(Sums(abs0, Vector512.ConditionalSelect(negative0, minusX, xv), ones), ws0 * sx, a30);
            a31 = Vector512.FusedMultiplyAdd(Sums(abs1, Vector512.ConditionalSelect(negative1, minusX, xv), ones), ws1 * sx, a31);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a00.GetLower() + a00.GetUpper()); yr[1] = Vector256.Sum(a01.GetLower() + a01.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a10.GetLower() + a10.GetUpper()); yr[1] = Vector256.Sum(a11.GetLower() + a11.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a20.GetLower() + a20.GetUpper()); yr[1] = Vector256.Sum(a21.GetLower() + a21.GetUpper()); yr += n;
        yr[0] = Vector256.Sum(a30.GetLower() + a30.GetUpper()); yr[1] = Vector256.Sum(a31.GetLower() + a31.GetUpper());
    }

    /// <summary>The int32 sums of four |w| x signed-x products, as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sums(Vector512<byte> absW, Vector512<sbyte> signedX, Vector512<short> ones) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(absW, signedX), ones));
}
