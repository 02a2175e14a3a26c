using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Activations quantized for the integer dot products: each row's groups of 32 inputs as int8 with one float scale,
/// d = max|x| / 127 and q = round(x / d), half away from zero, through the reciprocal (ggml's Q8_0 activations, but
/// the scale is kept in float rather than rounded to fp16). A row's values never depend on the other rows.
/// </summary>
internal static unsafe class Int8Activations
{
    public const int Group = QuantizedGroup.Size;

    /// <summary>Every product's y = x W^T through <see cref="Int8Product{TRows}"/>, x quantized once for all of them.</summary>
    public static void Multiply<TRows>(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings,
        Func<WeightTensor, TRows> rowsOf) where TRows : struct, IInt8Rows
    {
        var q = GC.AllocateUninitializedArray<sbyte>(rows * k, pinned: true);
        var scales = GC.AllocateUninitializedArray<float>(rows * (k / Group), pinned: true);
        fixed (sbyte* qPtr = q)
        fixed (float* scalesPtr = scales)
        {
            Quantize(x, rows, k, qPtr, scalesPtr);
            var jobs = new Int8Product<TRows>[products.Length];
            for (int i = 0; i < jobs.Length; i++)
                jobs[i] = new(rowsOf(products[i].W), qPtr, scalesPtr, (float*)products[i].Y, rows, products[i].W.Rows, k, settings.UseVector512);
            MatMul.Run(jobs, settings.Threads);
        }
    }

    /// <summary>Quantizes x (rows, k), k a multiple of 32, into q (rows, k) and scales (rows, k / 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(float* x, int rows, int k, sbyte* q, float* scales)
    {
        var half = Vector256.Create(0.5f);
        var one = Vector256<float>.One;
        var sign = Vector256.Create(-0f);
        for (long g = 0; g < (long)rows * k / Group; g++)
        {
            float* xg = x + g * Group;
            var v0 = Vector256.Load(xg);
            var v1 = Vector256.Load(xg + 8);
            var v2 = Vector256.Load(xg + 16);
            var v3 = Vector256.Load(xg + 24);
            var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = 0f;
            for (int i = 0; i < 8; i++) amax = MathF.Max(amax, m.GetElement(i));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            scales[g] = d;
            var inverse = Vector256.Create(id);
            var i0 = RoundAwayFromZero(v0 * inverse, half, one, sign);
            var i1 = RoundAwayFromZero(v1 * inverse, half, one, sign);
            var i2 = RoundAwayFromZero(v2 * inverse, half, one, sign);
            var i3 = RoundAwayFromZero(v3 * inverse, half, one, sign);
            Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store(q + g * Group);
        }
    }

    /// <summary>
    /// <c>MathF.Round(v, MidpointRounding.AwayFromZero)</c> lane by lane, exactly: the fraction v - trunc(v) is exact
    /// for |v| &lt;= 127.5, and half of it or more moves one step away from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundAwayFromZero(Vector256<float> v, Vector256<float> half, Vector256<float> one, Vector256<float> sign)
    {
        var whole = Vector256.Truncate(v);
        var step = Vector256.ConditionalSelect(sign, v, one);   // +-1 with v's sign
        var rounded = whole + (Vector256.GreaterThanOrEqual(Vector256.Abs(v - whole), half) & step);
        return Vector256.ConvertToInt32(rounded);
    }
}

/// <summary>How Q8_0 rows give their groups to <see cref="Int8Product{TRows}"/> as int8 values.</summary>
internal unsafe interface IInt8Rows
{
    /// <summary>Row <paramref name="col"/>'s first input, in inputs: the formats find values and scales from it.</summary>
    long Row(int col);

    /// <summary>The 32 weights of the group starting at input <paramref name="c"/> of <paramref name="row"/>.</summary>
    Vector256<sbyte> Group(long row, int c);

    /// <summary>The 64 weights of the groups at <paramref name="c"/> and <paramref name="c"/> + 32, in input order.</summary>
    Vector512<sbyte> Pair(long row, int c);

    /// <summary>The scale of the group starting at input <paramref name="c"/> of <paramref name="row"/>.</summary>
    float Scale(long row, int c);

    /// <summary>Asks for the bytes of <paramref name="row"/> holding the groups at <paramref name="c"/> and after.</summary>
    void Prefetch(long row, int c);
}

/// <summary>
/// y (rows, N) = x W^T for Q8_0 weights and int8-quantized activations (<see cref="Int8Activations"/>): per
/// group, an exact integer dot product (vpmaddubsw on |w| and x carrying w's sign, as ggml does, then vpmaddwd
/// against ones: int32 sums of four products), converted to float and FMA'd with the two scales' product.
/// <para>
/// Every output is the same chain whatever the rows, tile, worker or vector width: two 8-lane float accumulators,
/// one for the even groups and one for the odd (a Vector512 holds both halves side by side), added lane by lane at
/// the end and then summed. So the Vector256 fallback gives the Vector512 path's results bit for bit.
/// </para>
/// </summary>
internal readonly unsafe struct Int8Product<TRows>(TRows w, sbyte* xq, float* xScales, float* y, int rows, int n, int k, bool wide) : MatMul.IJob
    where TRows : struct, IInt8Rows
{
    private const int Group = QuantizedGroup.Size, Pair = 2 * Group;

    public int N => n;
    public int Rows => rows;
    public int K => k;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Columns(int start, int end)
    {
        int col = start;
        if (wide)
            for (; col + 4 <= end; col += 4)
            {
                int row = 0;
                for (; row + 4 <= rows; row += 4)
                {
                    Tile4x2(col, row);
                    Tile4x2(col + 2, row);
                }
                for (; row < rows; row++) Tile1x4(col, row);
            }
        for (; col < end; col++)
            for (int row = 0; row < rows; row++) y[(long)row * n + col] = Dot(col, row);
    }

    /// <summary>Sum of |w| x sign(x, w) over each four inputs: 16 int32 lanes (lanes 0..7: the first group).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Products(Vector512<byte> absW, Vector512<sbyte> signedX) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(absW, signedX), Vector512.Create((short)1)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Products(Vector256<sbyte> weights, Vector256<sbyte> x) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(weights), Avx2.Sign(x, weights)), Vector256.Create((short)1)));

    /// <summary>x with the sign of w (w = 0 gives 0 through |w| anyway).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> WithSign(Vector512<sbyte> negative, Vector512<sbyte> x, Vector512<sbyte> minusX) =>
        Vector512.ConditionalSelect(negative, minusX, x);

    /// <summary>Lanes 0..7 = <paramref name="first"/>, 8..15 = <paramref name="second"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(float first, float second) => Vector512.Create(Vector256.Create(first), Vector256.Create(second));

    /// <summary>One output: the chain every tile computes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Dot(int col, int row)
    {
        var weights = w;
        long r = weights.Row(col);
        sbyte* xr = xq + (long)row * k;
        float* sx = xScales + (long)row * (k / Group);
        int pairEnd = k / Pair * Pair;
        Vector256<float> even, odd;
        if (wide)
        {
            var acc = Vector512<float>.Zero;
            for (int c = 0; c < pairEnd; c += Pair)
            {
                var wv = weights.Pair(r, c);
                var xv = Vector512.Load(xr + c);
                var p = Products(Avx512BW.Abs(wv), WithSign(Vector512.LessThan(wv, Vector512<sbyte>.Zero), xv, -xv));
                var scale = Halves(weights.Scale(r, c) * sx[c / Group], weights.Scale(r, c + Group) * sx[c / Group + 1]);
                acc = Vector512.FusedMultiplyAdd(p, scale, acc);
            }
            even = acc.GetLower();
            odd = acc.GetUpper();
        }
        else
        {
            even = odd = Vector256<float>.Zero;
            for (int c = 0; c < pairEnd; c += Pair)
            {
                even = Vector256.FusedMultiplyAdd(Products(weights.Group(r, c), Vector256.Load(xr + c)),
                    Vector256.Create(weights.Scale(r, c) * sx[c / Group]), even);
                odd = Vector256.FusedMultiplyAdd(Products(weights.Group(r, c + Group), Vector256.Load(xr + c + Group)),
                    Vector256.Create(weights.Scale(r, c + Group) * sx[c / Group + 1]), odd);
            }
        }
        if (pairEnd < k)   // an odd number of groups: the last one is even
            even = Vector256.FusedMultiplyAdd(Products(weights.Group(r, pairEnd), Vector256.Load(xr + pairEnd)),
                Vector256.Create(weights.Scale(r, pairEnd) * sx[pairEnd / Group]), even);
        return Vector256.Sum(even + odd);
    }

    /// <summary>One activation row against four weight rows (the T = 1 path): the row is loaded and negated once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile1x4(int col, int row)
    {
        if ((k / Group & 1) != 0)
        {
            for (int j = 0; j < 4; j++) y[(long)row * n + col + j] = Dot(col + j, row);
            return;
        }
        var weights = w;
        long r0 = weights.Row(col), r1 = weights.Row(col + 1), r2 = weights.Row(col + 2), r3 = weights.Row(col + 3);
        long next0 = weights.Row(col + 4), next1 = weights.Row(col + 5), next2 = weights.Row(col + 6), next3 = weights.Row(col + 7);
        sbyte* xr = xq + (long)row * k;
        float* sx = xScales + (long)row * (k / Group);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < k; c += Pair)
        {
            // The next column tile's rows follow these four in memory: fetch them ahead (see TiledProduct).
            weights.Prefetch(next0, c);
            weights.Prefetch(next1, c);
            weights.Prefetch(next2, c);
            weights.Prefetch(next3, c);
            var xv = Vector512.Load(xr + c);
            var minusX = -xv;
            float s0 = sx[c / Group], s1 = sx[c / Group + 1];
            var wv = weights.Pair(r0, c);
            a0 = Vector512.FusedMultiplyAdd(Products(Avx512BW.Abs(wv), WithSign(Vector512.LessThan(wv, Vector512<sbyte>.Zero), xv, minusX)),
                Halves(weights.Scale(r0, c) * s0, weights.Scale(r0, c + Group) * s1), a0);
            wv = weights.Pair(r1, c);
            a1 = Vector512.FusedMultiplyAdd(Products(Avx512BW.Abs(wv), WithSign(Vector512.LessThan(wv, Vector512<sbyte>.Zero), xv, minusX)),
                Halves(weights.Scale(r1, c) * s0, weights.Scale(r1, c + Group) * s1), a1);
            wv = weights.Pair(r2, c);
            a2 = Vector512.FusedMultiplyAdd(Products(Avx512BW.Abs(wv), WithSign(Vector512.LessThan(wv, Vector512<sbyte>.Zero), xv, minusX)),
                Halves(weights.Scale(r2, c) * s0, weights.Scale(r2, c + Group) * s1), a2);
            wv = weights.Pair(r3, c);
            a3 = Vector512.FusedMultiplyAdd(Products(Avx512BW.Abs(wv), WithSign(Vector512.LessThan(wv, Vector512<sbyte>.Zero), xv, minusX)),
                Halves(weights.Scale(r3, c) * s0, weights.Scale(r3, c + Group) * s1), a3);
        }
        float* yr = y + (long)row * n + col;
        yr[0] = Vector256.Sum(a0.GetLower() + a0.GetUpper());
        yr[1] = Vector256.Sum(a1.GetLower() + a1.GetUpper());
        yr[2] = Vector256.Sum(a2.GetLower() + a2.GetUpper());
        yr[3] = Vector256.Sum(a3.GetLower() + a3.GetUpper());
    }

    /// <summary>
    /// Four activation rows by two weight rows: each weight pair of groups is loaded, made absolute and given its
    /// scales once for four rows (eight accumulators leave the registers for the per-row vectors).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile4x2(int col, int row)
    {
        if ((k / Group & 1) != 0)
        {
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 2; j++) y[(long)(row + i) * n + col + j] = Dot(col + j, row + i);
            return;
        }
        var weights = w;
        long r0 = weights.Row(col), r1 = weights.Row(col + 1);
        int groups = k / Group;
        sbyte* x0 = xq + (long)row * k;
        float* sx0 = xScales + (long)row * groups;
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector512<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int c = 0; c < k; c += Pair)
        {
            var w0 = weights.Pair(r0, c);
            var w1 = weights.Pair(r1, c);
            var negative0 = Vector512.LessThan(w0, Vector512<sbyte>.Zero);
            var negative1 = Vector512.LessThan(w1, Vector512<sbyte>.Zero);
            var abs0 = Avx512BW.Abs(w0);
            var abs1 = Avx512BW.Abs(w1);
            var scale0 = Halves(weights.Scale(r0, c), weights.Scale(r0, c + Group));
            var scale1 = Halves(weights.Scale(r1, c), weights.Scale(r1, c + Group));
            int g = c / Group;

            var xv = Vector512.Load(x0 + c);
            var minusX = -xv;
            var sx = Halves(sx0[g], sx0[g + 1]);
            a00 = Vector512.FusedMultiplyAdd(Products(abs0, WithSign(negative0, xv, minusX)), scale0 * sx, a00);
            a01 = Vector512.FusedMultiplyAdd(Products(abs1, WithSign(negative1, xv, minusX)), scale1 * sx, a01);

            xv = Vector512.Load(x0 + k + c);
            minusX = -xv;
            sx = Halves(sx0[groups + g], sx0[groups + g + 1]);
            a10 = Vector512.FusedMultiplyAdd(Products(abs0, WithSign(negative0, xv, minusX)), scale0 * sx, a10);
            a11 = Vector512.FusedMultiplyAdd(Products(abs1, WithSign(negative1, xv, minusX)), scale1 * sx, a11);

            xv = Vector512.Load(x0 + 2L * k + c);
            minusX = -xv;
            sx = Halves(sx0[2 * groups + g], sx0[2 * groups + g + 1]);
            a20 = Vector512.FusedMultiplyAdd(Products(abs0, WithSign(negative0, xv, minusX)), scale0 * sx, a20);
            a21 = Vector512.FusedMultiplyAdd(Products(abs1, WithSign(negative1, xv, minusX)), scale1 * sx, a21);

            xv = Vector512.Load(x0 + 3L * k + c);
            minusX = -xv;
            sx = Halves(sx0[3 * groups + g], sx0[3 * groups + g + 1]);
            a30 = Vector512.FusedMultiplyAdd(Products(abs0, WithSign(negative0, xv, minusX)), scale0 * sx, a30);
            a31 = Vector512.FusedMultiplyAdd(Products(abs1, WithSign(negative1, xv, minusX)), scale1 * sx, a31);
        }
        float s00 = Vector256.Sum(a00.GetLower() + a00.GetUpper()), s01 = Vector256.Sum(a01.GetLower() + a01.GetUpper());
        float s10 = Vector256.Sum(a10.GetLower() + a10.GetUpper()), s11 = Vector256.Sum(a11.GetLower() + a11.GetUpper());
        float s20 = Vector256.Sum(a20.GetLower() + a20.GetUpper()), s21 = Vector256.Sum(a21.GetLower() + a21.GetUpper());
        float s30 = Vector256.Sum(a30.GetLower() + a30.GetUpper()), s31 = Vector256.Sum(a31.GetLower() + a31.GetUpper());
        float* yr = y + (long)row * n + col;
        yr[0] = s00; yr[1] = s01; yr += n;
        yr[0] = s10; yr[1] = s11; yr += n;
        yr[0] = s20; yr[1] = s21; yr += n;
        yr[0] = s30; yr[1] = s31;
    }
}
