using Sdar.Config;

namespace Sdar.Model;

/// <summary>
/// Group-quantizes Linear weights into <see cref="DType.Q8_0"/> or <see cref="DType.Q4_0"/>
/// (<see cref="QuantizedGroup"/>), in memory. Rows are independent, so they are quantized in parallel and the
/// result does not depend on the number of threads.
/// </summary>
public static unsafe class WeightQuantizer
{
    /// <summary>
    /// Quantizes every projection of the layers (attention, MLP and experts; MoE routers stay as they are, being
    /// small and sensitive) and the output head, also when it is tied to the embeddings: the embeddings then stay
    /// in their precision and the head becomes a quantized copy (llama.cpp's Q8_0 / Q4_0 files quantize it too).
    /// </summary>
    public static ModelWeights Quantize(ModelWeights weights, DType format)
    {
        if (!format.IsQuantized()) throw new ArgumentException($"{format} is not a quantized format (expected Q8_0 or Q4_0)", nameof(format));
        if (weights.Config.QuantizationConfig is { } existing)
            throw new ArgumentException($"the weights are already quantized ({existing.Format}); quantize the original model instead");
        WeightTensor Q(WeightTensor w) => Quantize(w, format);
        DenseMlpWeights Mlp(DenseMlpWeights m) => new(Q(m.GateProj), Q(m.UpProj), Q(m.DownProj));
        var layers = weights.Layers.Select(l => l with
        {
            QProj = Q(l.QProj), KProj = Q(l.KProj), VProj = Q(l.VProj), OProj = Q(l.OProj),
            Mlp = l.Mlp is { } m ? Mlp(m) : null,
            Moe = l.Moe is { } moe ? new MoeWeights(moe.Router, moe.Experts.Select(Mlp).ToList()) : null,
        }).ToList();
        var head = Quantize(weights.LmHead, format, "lm_head.weight");
        return new ModelWeights
        {
            Config = weights.Config with { QuantizationConfig = QuantizationConfig.For(format) },
            EmbedTokens = weights.EmbedTokens,
            Layers = layers,
            Norm = weights.Norm,
            LmHead = head,
        };
    }

    /// <summary>Quantizes one (rows, columns) matrix; columns must be a multiple of 32.</summary>
    public static WeightTensor Quantize(WeightTensor source, DType format, string? name = null)
    {
        name ??= source.Name;
        if (!format.IsQuantized()) throw new ArgumentException($"{format} is not a quantized format (expected Q8_0 or Q4_0)", nameof(format));
        if (source.DType.IsQuantized()) throw new ArgumentException($"tensor '{name}' is already {source.DType}");
        if (source.Shape.Count != 2 || source.Columns % QuantizedGroup.Size != 0)
            throw new ArgumentException(
                $"tensor '{name}' has shape [{string.Join(", ", source.Shape)}]; {format} needs a matrix whose rows are a multiple of {QuantizedGroup.Size} values");
        int rows = source.Rows, columns = source.Columns, groups = columns / QuantizedGroup.Size;
        int rowBytes = format == DType.Q8_0 ? columns : columns / 2;
        var values = new NativeBuffer((long)rows * rowBytes);
        var scales = new NativeBuffer((long)rows * groups * 2);
        byte* valuesPtr = values.Pointer;
        ushort* scalesPtr = (ushort*)scales.Pointer;
        Parallel.For(0, (rows + 63) / 64, block =>
        {
            var row = new float[columns];
            for (int r = block * 64; r < Math.Min(rows, block * 64 + 64); r++)
            {
                ReadRow(source, r, row);
                for (int g = 0; g < groups; g++)
                {
                    var group = row.AsSpan(g * QuantizedGroup.Size, QuantizedGroup.Size);
                    long scaleAt = (long)r * groups + g;
                    if (format == DType.Q8_0)
                        scalesPtr[scaleAt] = QuantizedGroup.QuantizeQ8(group,
                            new Span<sbyte>(valuesPtr + (long)r * rowBytes + g * QuantizedGroup.Size, QuantizedGroup.Size));
                    else
                        scalesPtr[scaleAt] = QuantizedGroup.QuantizeQ4(group,
                            new Span<byte>(valuesPtr + (long)r * rowBytes + g * QuantizedGroup.Size / 2, QuantizedGroup.Size / 2));
                }
            }
        });
        return new WeightTensor(name, format, [rows, columns], valuesPtr, scalesPtr, new[] { values, scales });
    }

    /// <summary>Row <paramref name="row"/> as float, with the type switch outside the loop (the 1.7B shape has 2 G values).</summary>
    private static void ReadRow(WeightTensor w, int row, Span<float> destination)
    {
        long start = (long)row * w.Columns;
        switch (w.DType)
        {
            case DType.BF16:
                var bf16 = (ushort*)w.Data + start;
                for (int i = 0; i < destination.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(bf16[i] << 16);
                break;
            case DType.F32:
                new ReadOnlySpan<float>((float*)w.Data + start, destination.Length).CopyTo(destination);
                break;
            default:
                w.ReadRow(row, destination);
                break;
        }
    }
}
