using System.Runtime.InteropServices;
using Sdar.IO;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdar.Training.Modeling;

/// <summary>
/// Moves a <see cref="Qwen3ForCausalLM"/> to and from HuggingFace checkpoint folders (DESIGN section 5) through
/// the engine's safetensors I/O: every parameter is looked up by its HF key, so loading is strict (a missing,
/// unexpected or wrongly shaped tensor is an error naming it). Training keeps float32 parameters; folders are
/// saved in BF16 or F32.
/// </summary>
public static class ModelFolder
{
    /// <summary>The files of a tokenizer that travel with a model folder.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja"];

    /// <summary>Loads the checkpoint in <paramref name="dir"/> into a new float32 module.</summary>
    public static Qwen3ForCausalLM Load(string dir)
    {
        using var checkpoint = Checkpoint.Open(dir);
        return FromWeights(checkpoint.Weights);
    }

    /// <summary>A new float32 module holding <paramref name="weights"/> (any stored precision).</summary>
    public static Qwen3ForCausalLM FromWeights(ModelWeights weights)
    {
        var module = new Qwen3ForCausalLM(weights.Config);
        CopyInto(module, ModelLayout.NamedTensors(weights), "checkpoint");
        return module;
    }

    /// <summary>Copies <paramref name="tensors"/> (HF keys) into the parameters of <paramref name="module"/>; every parameter must be given.</summary>
    public static void CopyInto(Qwen3ForCausalLM module, IReadOnlyDictionary<string, WeightTensor> tensors, string origin)
    {
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var key in tensors.Keys)
            if (!parameters.ContainsKey(key))
                throw new CheckpointException($"{origin}: tensor '{key}' has no parameter in the {module.Config.ModelType} model");
        using var _ = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors.TryGetValue(name, out var source))
                throw new CheckpointException($"{origin}: missing tensor '{name}' (expected shape [{string.Join(", ", parameter.shape)}])");
            if (!source.Shape.Select(d => (long)d).SequenceEqual(parameter.shape))
                throw new CheckpointException($"{origin}: tensor '{name}' has shape [{string.Join(", ", source.Shape)}], expected [{string.Join(", ", parameter.shape)}]");
            using var values = tensor(ToFloats(source), parameter.shape);
            parameter.copy_(values);
        }
    }

    /// <summary>The parameters under their HF keys, converted to <paramref name="dtype"/> (round to nearest even for BF16).</summary>
    public static Dictionary<string, WeightTensor> ToWeightTensors(Qwen3ForCausalLM module, DType dtype)
    {
        var result = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in module.named_parameters())
        {
            float[] values = parameter.detach().contiguous().data<float>().ToArray();
            result[name] = new WeightTensor(name, dtype, parameter.shape.Select(d => (int)d).ToArray(), Encode(values, dtype));
        }
        return result;
    }

    /// <summary>The parameters as engine weights (for the parity tests and for evaluating with the fast engine).</summary>
    public static ModelWeights ToModelWeights(Qwen3ForCausalLM module, DType dtype = DType.F32) =>
        ModelWeights.Bind(module.Config, ToWeightTensors(module, dtype), "training module");

    /// <summary>
    /// Writes a complete HF folder: config.json, model.safetensors in <paramref name="dtype"/>, generation_config.json
    /// and the tokenizer files of <paramref name="tokenizerDir"/>. The folder appears at once, complete
    /// (<see cref="AtomicDirectory"/>); a previous folder of that name is replaced.
    /// </summary>
    public static void Save(Qwen3ForCausalLM module, string dir, DType dtype, GenerationConfig? generation, string? tokenizerDir,
        Action<string>? writeExtra = null)
    {
        var tensors = ToWeightTensors(module, dtype);
        AtomicDirectory.Write(dir, temp =>
        {
            CheckpointWriter.Save(temp, module.Config, tensors, generation);
            if (tokenizerDir is not null) CopyTokenizer(tokenizerDir, temp);
            writeExtra?.Invoke(temp);
        });
    }

    /// <summary>Copies the tokenizer files present in <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static void CopyTokenizer(string from, string to)
    {
        if (Path.GetFullPath(from) == Path.GetFullPath(to)) return;
        foreach (var file in TokenizerFiles)
        {
            string source = Path.Combine(from, file);
            if (File.Exists(source)) File.Copy(source, Path.Combine(to, file), overwrite: true);
        }
    }

    internal static unsafe float[] ToFloats(WeightTensor tensor)
    {
        var result = new float[tensor.ElementCount];
        switch (tensor.DType)
        {
            case DType.F32:
                new ReadOnlySpan<float>(tensor.Data, result.Length).CopyTo(result);
                break;
            case DType.BF16:
                var bf16 = new ReadOnlySpan<ushort>(tensor.Data, result.Length);
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(bf16[i] << 16);
                break;
            case DType.F16:
                var f16 = new ReadOnlySpan<Half>(tensor.Data, result.Length);
                for (int i = 0; i < result.Length; i++) result[i] = (float)f16[i];
                break;
        }
        return result;
    }

    internal static byte[] Encode(float[] values, DType dtype)
    {
        switch (dtype)
        {
            case DType.F32:
                return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            case DType.BF16:
                var bf16 = new ushort[values.Length];
                for (int i = 0; i < values.Length; i++) bf16[i] = ToBFloat16(values[i]);
                return MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray();
            case DType.F16:
                var f16 = new Half[values.Length];
                for (int i = 0; i < values.Length; i++) f16[i] = (Half)values[i];
                return MemoryMarshal.AsBytes(f16.AsSpan()).ToArray();
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    /// <summary>Round to nearest even, as PyTorch's float -> bfloat16 cast; NaN stays NaN.</summary>
    internal static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }
}
