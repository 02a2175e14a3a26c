using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Sdar.Model;

namespace Sdar.Export;

/// <summary>
/// ggml's element conversions, bit for bit: Q8_0 and Q4_0 as <c>quantize_row_q8_0_ref</c> and
/// <c>quantize_row_q4_0_ref</c> (ggml-quants.c) compute them, and BF16 as PyTorch's round-to-nearest-even cast (what the converter's BF16 output holds).
/// </summary>
public static class GgmlQuantization
{
    /// <summary>
    /// Quantizes <paramref name="source"/> (a multiple of 32 values) into Q8_0 blocks: per block d = max|x| / 127
    /// stored as fp16 (round to nearest even), q = roundf(x * (1/d)) (half away from zero), 0 when d is 0. The
    /// product with the reciprocal, not a division, is what ggml does, so the bytes match its own files.
    /// </summary>
    public static void QuantizeQ8_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length % GgufFormat.Q8BlockElements != 0)
            throw new ArgumentException($"Q8_0 quantizes whole blocks of {GgufFormat.Q8BlockElements} values; got {source.Length}");
        int blocks = source.Length / GgufFormat.Q8BlockElements;
        if (destination.Length < blocks * GgufFormat.Q8BlockBytes)
            throw new ArgumentException($"{blocks} Q8_0 blocks need {blocks * GgufFormat.Q8BlockBytes} bytes; got {destination.Length}");
        for (int b = 0; b < blocks; b++)
        {
            var x = source.Slice(b * GgufFormat.Q8BlockElements, GgufFormat.Q8BlockElements);
            var block = destination.Slice(b * GgufFormat.Q8BlockBytes, GgufFormat.Q8BlockBytes);
            float amax = 0f;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (int j = 0; j < GgufFormat.Q8BlockElements; j++)
                block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>Q8_0 blocks back to floats: q * d (ggml's <c>dequantize_row_q8_0</c>).</summary>
    public static void DequantizeQ8_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int blocks = destination.Length / GgufFormat.Q8BlockElements;
        if (destination.Length % GgufFormat.Q8BlockElements != 0 || source.Length < blocks * GgufFormat.Q8BlockBytes)
            throw new ArgumentException($"Q8_0 holds whole blocks of {GgufFormat.Q8BlockElements} values; got {destination.Length} values, {source.Length} bytes");
        for (int b = 0; b < blocks; b++)
        {
            var block = source.Slice(b * GgufFormat.Q8BlockBytes, GgufFormat.Q8BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int j = 0; j < GgufFormat.Q8BlockElements; j++)
                destination[b * GgufFormat.Q8BlockElements + j] = (sbyte)block[2 + j] * d;
        }
    }

    /// <summary>
    /// Quantizes <paramref name="source"/> (a multiple of 32 values) into Q4_0 blocks: an fp16 scale d = m / -8, m the
    /// value of largest magnitude, then 16 bytes, byte j holding min(15, trunc(x_j / d + 8.5)) in its low nibble and
    /// the same of x_(j+16) in its high one. The arithmetic is <see cref="QuantizedGroup.QuantizeQ4"/>'s, so a model
    /// that <c>sdar quantize</c> wrote in q4 re-packs into these blocks without a change.
    /// </summary>
    public static void QuantizeQ4_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length % GgufFormat.Q4BlockElements != 0)
            throw new ArgumentException($"Q4_0 quantizes whole blocks of {GgufFormat.Q4BlockElements} values; got {source.Length}");
        int blocks = source.Length / GgufFormat.Q4BlockElements;
        if (destination.Length < blocks * GgufFormat.Q4BlockBytes)
            throw new ArgumentException($"{blocks} Q4_0 blocks need {blocks * GgufFormat.Q4BlockBytes} bytes; got {destination.Length}");
        for (int b = 0; b < blocks; b++)
        {
            var block = destination.Slice(b * GgufFormat.Q4BlockBytes, GgufFormat.Q4BlockBytes);
            ushort d = QuantizedGroup.QuantizeQ4(source.Slice(b * GgufFormat.Q4BlockElements, GgufFormat.Q4BlockElements), block[2..]);
            BinaryPrimitives.WriteUInt16LittleEndian(block, d);
        }
    }

    /// <summary>Q4_0 blocks back to floats: (nibble - 8) * d (ggml's <c>dequantize_row_q4_0</c>).</summary>
    public static void DequantizeQ4_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        const int half = GgufFormat.Q4BlockElements / 2;
        int blocks = destination.Length / GgufFormat.Q4BlockElements;
        if (destination.Length % GgufFormat.Q4BlockElements != 0 || source.Length < blocks * GgufFormat.Q4BlockBytes)
            throw new ArgumentException($"Q4_0 holds whole blocks of {GgufFormat.Q4BlockElements} values; got {destination.Length} values, {source.Length} bytes");
        for (int b = 0; b < blocks; b++)
        {
            var block = source.Slice(b * GgufFormat.Q4BlockBytes, GgufFormat.Q4BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            var values = destination.Slice(b * GgufFormat.Q4BlockElements, GgufFormat.Q4BlockElements);
            for (int j = 0; j < half; j++)
            {
                values[j] = ((block[2 + j] & 0x0F) - 8) * d;
                values[j + half] = ((block[2 + j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>Round to nearest even, as PyTorch's float -> bfloat16 cast; NaN stays a (quiet) NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort value) => BitConverter.Int32BitsToSingle(value << 16);
}
