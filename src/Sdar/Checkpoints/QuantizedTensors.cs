using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// How a group-quantized Linear weight <c>NAME.weight</c> (N, K) is stored in safetensors: <c>NAME.qweight</c>
/// holds the packed values (<c>I8</c> (N, K) for q8_0, <c>U8</c> (N, K / 2) for q4_0, two inputs a byte: input j of
/// a group of 32 in the low nibble of byte j, input j + 16 in the high one) and <c>NAME.scales</c> the <c>F16</c>
/// scales (N, K / 32). <see cref="Split"/> turns bound tensors into stored ones; <see cref="Assemble"/> checks stored
/// ones against <c>quantization_config</c> and the architecture and turns them back.
/// </summary>
public static unsafe class QuantizedTensors
{
    public const string ValuesSuffix = ".qweight", ScalesSuffix = ".scales", WeightSuffix = ".weight";

    /// <summary>The tensors to write: each quantized <c>NAME.weight</c> becomes <c>NAME.qweight</c> and <c>NAME.scales</c>.</summary>
    public static IReadOnlyDictionary<string, WeightTensor> Split(IReadOnlyDictionary<string, WeightTensor> tensors)
    {
        var stored = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (!tensor.DType.IsQuantized())
            {
                stored.Add(name, tensor);
                continue;
            }
            string stem = Stem(name);
            int n = tensor.Rows, k = tensor.Columns;
            var (valuesType, valuesColumns) = ValuesLayout(tensor.DType, k);
            // The stored views point into the quantized tensor's memory and keep it alive.
            stored.Add(stem + ValuesSuffix, new WeightTensor(stem + ValuesSuffix, valuesType, [n, valuesColumns], tensor.Data, tensor));
            stored.Add(stem + ScalesSuffix, new WeightTensor(stem + ScalesSuffix, DType.F16, [n, k / QuantizedGroup.Size], (byte*)tensor.Scales, tensor));
        }
        return stored;
    }

    /// <summary>
    /// The bound view of stored tensors: every <c>NAME.qweight</c> with its <c>NAME.scales</c> becomes one quantized
    /// <c>NAME.weight</c>. Each packed tensor and scale is checked against <paramref name="config"/>: a quantization
    /// config must be present, the dtypes must be the format's, the shapes must be those of the architecture's
    /// matrix, every scale must be finite; a failure names the file (<paramref name="fileOf"/>) and the tensor.
    /// </summary>
    public static IReadOnlyDictionary<string, WeightTensor> Assemble(ModelConfig config, IReadOnlyDictionary<string, WeightTensor> stored,
        Func<string, string> fileOf)
    {
        bool anyPacked = stored.Keys.Any(k => k.EndsWith(ValuesSuffix, StringComparison.Ordinal) || k.EndsWith(ScalesSuffix, StringComparison.Ordinal));
        if (!anyPacked) return stored;
        var quantization = config.QuantizationConfig;
        if (quantization is null)
        {
            string first = stored.Keys.Where(k => k.EndsWith(ValuesSuffix, StringComparison.Ordinal) || k.EndsWith(ScalesSuffix, StringComparison.Ordinal))
                .OrderBy(k => k, StringComparer.Ordinal).First();
            throw new CheckpointException($"{fileOf(first)}: tensor '{first}' is a packed quantized tensor, but config.json has no quantization_config");
        }
        var format = quantization.WeightFormat;
        var expected = ModelLayout.Tensors(config).ToDictionary(s => s.Name, s => s.Shape, StringComparer.Ordinal);
        expected.TryAdd("lm_head.weight", [config.VocabSize, config.HiddenSize]);

        var result = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in stored)
        {
            if (name.EndsWith(ScalesSuffix, StringComparison.Ordinal))
            {
                string stem = name[..^ScalesSuffix.Length];
                if (!stored.ContainsKey(stem + ValuesSuffix))
                    throw new CheckpointException($"{fileOf(name)}: tensor '{name}' has no packed values '{stem}{ValuesSuffix}'");
                continue;
            }
            if (!name.EndsWith(ValuesSuffix, StringComparison.Ordinal))
            {
                result.Add(name, tensor);
                continue;
            }
            string weightName = name[..^ValuesSuffix.Length] + WeightSuffix;
            result.Add(weightName, Combine(name, tensor, format, expected, stored, fileOf));
        }
        return result;
    }

    private static WeightTensor Combine(string name, WeightTensor values, DType format, Dictionary<string, int[]> expected,
        IReadOnlyDictionary<string, WeightTensor> stored, Func<string, string> fileOf)
    {
        string stem = name[..^ValuesSuffix.Length];
        string weightName = stem + WeightSuffix, scalesName = stem + ScalesSuffix;
        string Shape(IEnumerable<int> dims) => $"[{string.Join(", ", dims)}]";
        if (stored.ContainsKey(weightName))
            throw new CheckpointException($"{fileOf(name)}: both '{weightName}' and the packed '{name}' are present; a weight is stored one way");
        if (!expected.TryGetValue(weightName, out var shape) || shape.Length != 2)
            throw new CheckpointException($"{fileOf(name)}: tensor '{name}': '{weightName}' is not a Linear weight of this architecture, so it cannot be quantized");
        int n = shape[0], k = shape[1];
        if (k % QuantizedGroup.Size != 0)
            throw new CheckpointException($"{fileOf(name)}: tensor '{name}': '{weightName}' has {k} inputs, not a multiple of the group size {QuantizedGroup.Size}");
        var (valuesType, valuesColumns) = ValuesLayout(format, k);
        string formatName = format.ToString().ToLowerInvariant();
        if (values.DType != valuesType)
            throw new CheckpointException($"{fileOf(name)}: tensor '{name}' has dtype {values.DType}, but quantization_config.format {formatName} stores {valuesType}");
        if (!values.Shape.SequenceEqual([n, valuesColumns]))
            throw new CheckpointException($"{fileOf(name)}: tensor '{name}' has shape {Shape(values.Shape)}, expected [{n}, {valuesColumns}] ({formatName} of a [{n}, {k}] weight)");
        if (!stored.TryGetValue(scalesName, out var scales))
            throw new CheckpointException($"{fileOf(name)}: tensor '{name}' has no scales: '{scalesName}' is missing");
        if (scales.DType != DType.F16)
            throw new CheckpointException($"{fileOf(scalesName)}: tensor '{scalesName}' has dtype {scales.DType}, expected F16");
        int groups = k / QuantizedGroup.Size;
        if (!scales.Shape.SequenceEqual([n, groups]))
            throw new CheckpointException($"{fileOf(scalesName)}: tensor '{scalesName}' has shape {Shape(scales.Shape)}, expected [{n}, {groups}] (one scale per {QuantizedGroup.Size} inputs of a [{n}, {k}] weight)");
        var scaleBits = (ushort*)scales.Data;
        for (long i = 0, count = (long)n * groups; i < count; i++)
            if ((scaleBits[i] & 0x7C00) == 0x7C00)
                throw new CheckpointException($"{fileOf(scalesName)}: tensor '{scalesName}' is corrupt: scale {i} (row {i / groups}, group {i % groups}) is {(Half)BitConverter.UInt16BitsToHalf(scaleBits[i])}");
        return new WeightTensor(weightName, format, [n, k], values.Data, scaleBits, new[] { values, scales });
    }

    private static (DType Type, int Columns) ValuesLayout(DType format, int k) => format switch
    {
        DType.Q8_0 => (DType.I8, k),
        DType.Q4_0 => (DType.U8, k / 2),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a quantized format"),
    };

    private static string Stem(string name) =>
        name.EndsWith(WeightSuffix, StringComparison.Ordinal) ? name[..^WeightSuffix.Length]
            : throw new ArgumentException($"quantized tensor '{name}' must be named NAME{WeightSuffix}");
}
