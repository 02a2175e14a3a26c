using Sdar.Config;
using Sdar.IO;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>What <see cref="CheckpointQuantizer.QuantizeFolder"/> wrote.</summary>
public sealed record QuantizeResult(string Directory, DType Format, int QuantizedTensors, long BytesBefore, long BytesAfter);

/// <summary>
/// <c>sdar quantize</c>: a checkpoint folder with its Linear weights group-quantized (<see cref="WeightQuantizer"/>),
/// saved as a HuggingFace folder (<see cref="QuantizedTensors"/> for the layout, <c>quantization_config</c> in
/// <c>config.json</c>), with every other file of the source folder (tokenizer, chat template, generation config)
/// copied. The folder is written atomically: it appears complete or not at all.
/// </summary>
public static class CheckpointQuantizer
{
    /// <summary>"q8" / "q8_0" or "q4" / "q4_0" (case-insensitive), else an error naming <paramref name="flag"/>.</summary>
    public static DType ParseFormat(string text, string flag = "--format") => text.ToLowerInvariant() switch
    {
        "q8" or "q8_0" => DType.Q8_0,
        "q4" or "q4_0" => DType.Q4_0,
        _ => throw new ArgumentException($"{flag}: expected q8 or q4; got '{text}'"),
    };

    public static QuantizeResult QuantizeFolder(string modelDir, string outDir, DType format)
    {
        using var checkpoint = Checkpoint.Open(modelDir);
        string target = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        if (string.Equals(target, checkpoint.Directory.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new ArgumentException($"--out: {target} is the model folder itself; write the quantized model to another folder");
        if (checkpoint.Config.QuantizationConfig is { } existing)
            throw new ArgumentException($"--model: {checkpoint.Directory} is already quantized ({existing.Format}); quantize the original model");

        var quantized = WeightQuantizer.Quantize(checkpoint.Weights, format);
        var tensors = ModelLayout.NamedTensors(quantized);
        var skip = new HashSet<string>(StringComparer.Ordinal)
        {
            ConfigLoader.ConfigFileName, WeightFiles.SingleFileName, WeightFiles.IndexFileName,
        };
        foreach (var weightPath in checkpoint.WeightPaths) skip.Add(Path.GetFileName(weightPath));
        AtomicDirectory.Write(target, temp =>
        {
            CheckpointWriter.Save(temp, quantized.Config, tensors);
            foreach (var file in System.IO.Directory.EnumerateFiles(checkpoint.Directory))
            {
                string name = Path.GetFileName(file);
                if (skip.Contains(name) || name.StartsWith('.')) continue;
                File.Copy(file, Path.Combine(temp, name));
            }
        });
        long before = ModelLayout.NamedTensors(checkpoint.Weights).Values.Sum(t => t.ByteLength);
        long after = tensors.Values.Sum(t => t.ByteLength);
        return new QuantizeResult(target, format, tensors.Values.Count(t => t.DType.IsQuantized()), before, after);
    }
}
