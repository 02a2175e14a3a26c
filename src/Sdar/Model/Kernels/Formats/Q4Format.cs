using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sdar.Model.Kernels.Formats;

/// <summary>
/// Q4_0 weights: 4-bit values, two per byte, one fp16 scale per group of 32 inputs; value = (nibble - 8) * scale
/// (<see cref="QuantizedGroup.QuantizeQ4"/>). Byte j of a group holds input j (low nibble) and input j + 16 (high),
/// so 16 bytes zero-extended to 16 lanes give inputs 0..15 by a mask and 16..31 by a shift, with no permutes.
/// As in <see cref="Q8Format"/>, float activations give each result equal to the F32 kernel's over the dequantized
/// matrix, bit for bit; int8 activations (<see cref="QuantizedActivations"/>, the default for Q4_0 where AVX2 is) go
/// through <see cref="Q4Int8Product"/>.
/// </summary>
internal sealed unsafe class Q4Format : IWeightFormat
{
    public static readonly Q4Format Instance = new();
    private const int Group = QuantizedGroup.Size;

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

    public void Multiply(ReadOnlySpan<(WeightTensor W, IntPtr Y)> products, float* x, int rows, int k, KernelSettings settings, MatMul.OutputsDone? done)
    {
        if (settings.Int8ActivationsFor(DType.Q4_0))
        {
            Q4Int8Product.Multiply(products, x, rows, k, settings, done);
            return;
        }
        var jobs = new TiledProduct<Rows>[products.Length];
        for (int i = 0; i < jobs.Length; i++)
        {
            var w = products[i].W;
            jobs[i] = new(new Rows(w.Data, w.Scales, k), x, (float*)products[i].Y, rows, w.Rows, k, settings.UseVector512);
        }
        MatMul.Run(jobs, settings.Threads, done);
    }

    /// <summary>A group's 16 bytes zero-extended to 32-bit lanes; the low nibbles are inputs 0..15, the high ones 16..31.</summary>
    private readonly struct Rows(byte* w, ushort* scales, int k) : IWeightRows
    {
        public static int WideChunk => Group;
        public static int NarrowChunk => 16;
        public static int WidenFromRows => 2 * MatMul.TileRows;   // as for Q8_0

        /// <summary>The row's first input (its bytes start at row / 2, its scales at row / 32).</summary>
        public long Row(int col) => (long)col * k;

        /// <summary>
        /// The group's 16 levels (nibble - 8) * scale are computed once, in float as the dequantization defines them, and
        /// each weight is picked out of them by <c>vpermps</c>, which reads only the low 4 bits of each index: the
        /// zero-extended byte indexes its low nibble as it is, and its high one after a shift. Five vector operations
        /// for 32 weights where converting each nibble took nine; the same floats, so the same bits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> First, Vector512<float> Second) Wide(long row, int c)
        {
            var bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(w + (row + c) / 2));
            var levels = Vector512.Create(-8f, -7f, -6f, -5f, -4f, -3f, -2f, -1f, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f)
                * Vector512.Create(QuantizedGroup.ScaleToFloat(scales[(row + c) / Group]));
            return (Avx512F.PermuteVar16x32(levels, bytes), Avx512F.PermuteVar16x32(levels, bytes >>> 4));
        }

        /// <summary>
        /// Inputs c .. c + 15 of a group: bytes 0..7 and 8..15, their low nibbles for the group's first half and
        /// their high nibbles for its second (a shift by 0 or 4, so the loop needs no branch).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> First, Vector256<float> Second) Narrow(long row, int c)
        {
            byte* q = w + (row + (c & ~(Group - 1))) / 2;
            int shift = (c & 16) >> 2;
            var scale = Vector256.Create(QuantizedGroup.ScaleToFloat(scales[(row + c) / Group]));
            var eight = Vector256.Create(8);
            var nibble = Vector256.Create(0xF);
            return (Avx.ConvertToVector256Single(((Avx2.ConvertToVector256Int32(q) >>> shift) & nibble) - eight) * scale,
                Avx.ConvertToVector256Single(((Avx2.ConvertToVector256Int32(q + 8) >>> shift) & nibble) - eight) * scale);
        }

        public float Scalar(long row, int i)
        {
            byte packed = w[(row + i / Group * Group) / 2 + i % (Group / 2)];
            int nibble = i % Group < Group / 2 ? packed & 0xF : packed >> 4;
            return (nibble - 8) * QuantizedGroup.ScaleToFloat(scales[(row + i) / Group]);
        }

        /// <summary>One prefetch every other group (32 bytes), as often as the Q8_0 rows ask.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(long row, int c)
        {
            if ((c & 63) == 0) Sse.Prefetch1(w + (row + c) / 2);
        }
    }
}
