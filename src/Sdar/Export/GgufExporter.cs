using System.Runtime.InteropServices;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.IO;
using Sdar.Model;

namespace Sdar.Export;

/// <summary>The element type of the exported matrices (norm weights are always F32, as llama.cpp's converter writes them).</summary>
public enum GgufOutputType
{
    F32,
    BF16,
    Q8_0,
    Q4_0,
}

/// <summary>What an export wrote.</summary>
public sealed record GgufExportResult(string Path, GgufOutputType Type, int TensorCount, long Bytes, long Parameters);

/// <summary>
/// Writes a dense Qwen3 or SDAR model as a GGUF v3 file that llama.cpp (and Ollama, LM Studio, LLamaSharp) loads as
/// its <c>qwen3</c> architecture: the hyper-parameters under <c>qwen3.*</c>, the tensors under llama.cpp's names
/// (convert_hf_to_gguf.py's mapping; <c>output.weight</c> left out for tied embeddings, which llama.cpp then
/// takes from <c>token_embd.weight</c>), and the tokenizer (<see cref="GgufVocabulary"/>). No tensor is permuted:
/// llama.cpp runs qwen3 with the rotate-half ("NEOX") RoPE that HuggingFace uses. The file is written atomically.
/// An SDAR model exports too, but llama.cpp decodes it autoregressively, not by block diffusion.
/// A model quantized by <c>sdar quantize</c> (<c>quantization_config</c>) exports in its own format, its packed
/// values and scales re-interleaved into ggml blocks unchanged (the arithmetic is ggml's), its other matrices in
/// their precision; or as F32, dequantized exactly. Any other type would round the weights a second time, so it is
/// refused.
/// </summary>
public static class GgufExporter
{
    public const string Architecture = "qwen3";

    // llama.cpp's LLAMA_FTYPE numbering (general.file_type) and ggml's quantization format version.
    private const uint FileTypeAllF32 = 0, FileTypeMostlyQ4_0 = 2, FileTypeMostlyQ8_0 = 7, FileTypeMostlyBF16 = 32, QuantizationVersion = 2;

    /// <summary>"f32", "bf16", "q8_0" or "q4_0" (case-insensitive), else an error naming <paramref name="flag"/>.</summary>
    public static GgufOutputType ParseType(string text, string flag = "--type") => text.ToLowerInvariant() switch
    {
        "f32" => GgufOutputType.F32,
        "bf16" => GgufOutputType.BF16,
        "q8_0" => GgufOutputType.Q8_0,
        "q4_0" => GgufOutputType.Q4_0,
        _ => throw new ArgumentException($"{flag}: expected f32, bf16, q8_0 or q4_0; got '{text}'"),
    };

    /// <summary>The type a model exports as when none is asked for: its own format when quantized, else BF16.</summary>
    public static GgufOutputType DefaultType(ModelConfig config) => config.QuantizationConfig is { } q ? OwnType(q) : GgufOutputType.BF16;

    /// <summary>
    /// Exports the checkpoint folder <paramref name="modelDir"/> (config.json, weights, tokenizer.json), as
    /// <paramref name="type"/> or, when null, <see cref="DefaultType"/>.
    /// </summary>
    public static GgufExportResult ExportFolder(string modelDir, string outPath, GgufOutputType? type, string outFlag = "--out", string typeFlag = "--type")
    {
        using var checkpoint = Checkpoint.Open(modelDir);
        CheckArchitecture(checkpoint.Config, Path.Combine(checkpoint.Directory, ConfigLoader.ConfigFileName));
        var chosen = type ?? DefaultType(checkpoint.Config);
        CheckType(checkpoint.Config, chosen, $"{checkpoint.Directory} (quantization_config in {ConfigLoader.ConfigFileName})", typeFlag);
        var vocabulary = GgufVocabulary.FromTokenizer(checkpoint.Directory, checkpoint.Config.VocabSize, checkpoint.Config, checkpoint.GenerationConfig);
        return Export(checkpoint.Weights, vocabulary, Path.GetFileName(checkpoint.Directory.TrimEnd('/')), outPath, chosen, outFlag);
    }

    /// <summary>Exports weights already in memory (a random model of a real shape, for benchmarks) with a given tokenizer.</summary>
    public static GgufExportResult Export(ModelWeights weights, GgufVocabulary vocabulary, string name, string outPath, GgufOutputType type,
        string outFlag = "--out", string typeFlag = "--type")
    {
        var config = weights.Config;
        CheckArchitecture(config, "the model config");
        CheckType(config, type, "the model", typeFlag);
        if (vocabulary.Tokens.Count != config.VocabSize)
            throw new ArgumentException($"the vocabulary has {vocabulary.Tokens.Count} tokens; the model has {config.VocabSize} embedding rows");
        var writer = new GgufWriter();
        AddModelMetadata(writer, config, name, type);
        AddTokenizerMetadata(writer, vocabulary, config.VocabSize);
        bool repack = config.QuantizationConfig is not null && type != GgufOutputType.F32;
        foreach (var (ggufName, tensor) in TensorNames(weights))
            writer.AddTensor(Entry(ggufName, tensor, type, repack));

        using (OutputPaths.ClaimFile(outPath, outFlag))
            AtomicFile.Write(outPath, writer.WriteTo);
        return new GgufExportResult(Path.GetFullPath(outPath), type, writer.Tensors.Count, new FileInfo(outPath).Length, weights.ParameterCount());
    }

    private static void CheckArchitecture(ModelConfig config, string origin)
    {
        if (config.ModelType is not ("qwen3" or "sdar") || config.IsMoe)
            throw new CheckpointException(
                $"{origin}: model_type '{config.ModelType}' cannot be exported to GGUF; only dense 'qwen3' and 'sdar' models (llama.cpp's qwen3 architecture) are");
    }

    /// <summary>A quantized model exports only as its own format (losslessly) or F32 (dequantized exactly).</summary>
    private static void CheckType(ModelConfig config, GgufOutputType type, string origin, string typeFlag)
    {
        if (config.QuantizationConfig is not { } q) return;
        var own = OwnType(q);
        if (type == own || type == GgufOutputType.F32) return;
        string asked = type.ToString().ToLowerInvariant(), ownName = own.ToString().ToLowerInvariant();
        throw new ArgumentException(
            $"{typeFlag} {asked}: {origin} is already quantized to {q.Format}; export it as {typeFlag} {ownName} (its packed weights, losslessly) " +
            $"or f32 (dequantized exactly), or export the unquantized model for {asked}");
    }

    private static GgufOutputType OwnType(QuantizationConfig q) => q.WeightFormat == DType.Q8_0 ? GgufOutputType.Q8_0 : GgufOutputType.Q4_0;

    private static void AddModelMetadata(GgufWriter w, ModelConfig c, string name, GgufOutputType type)
    {
        w.Add("general.architecture", GgufValue.String(Architecture));
        w.Add("general.type", GgufValue.String("model"));
        w.Add("general.name", GgufValue.String(name));
        w.Add("general.file_type", GgufValue.UInt32(type switch
        {
            GgufOutputType.F32 => FileTypeAllF32,
            GgufOutputType.BF16 => FileTypeMostlyBF16,
            GgufOutputType.Q4_0 => FileTypeMostlyQ4_0,
            _ => FileTypeMostlyQ8_0,
        }));
        w.Add("general.quantization_version", GgufValue.UInt32(QuantizationVersion));
        string a = Architecture;
        w.Add($"{a}.block_count", GgufValue.UInt32((uint)c.NumHiddenLayers));
        w.Add($"{a}.context_length", GgufValue.UInt32((uint)c.MaxPositionEmbeddings));
        w.Add($"{a}.embedding_length", GgufValue.UInt32((uint)c.HiddenSize));
        w.Add($"{a}.feed_forward_length", GgufValue.UInt32((uint)c.IntermediateSize));
        w.Add($"{a}.attention.head_count", GgufValue.UInt32((uint)c.NumAttentionHeads));
        w.Add($"{a}.attention.head_count_kv", GgufValue.UInt32((uint)c.NumKeyValueHeads));
        w.Add($"{a}.rope.freq_base", GgufValue.Float32((float)c.RopeTheta));
        w.Add($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Float32((float)c.RmsNormEps));
        w.Add($"{a}.attention.key_length", GgufValue.UInt32((uint)c.HeadDim));
        w.Add($"{a}.attention.value_length", GgufValue.UInt32((uint)c.HeadDim));
        if (c.IsDiffusion)
        {
            // Not read by llama.cpp; kept so the file says what it was trained for.
            w.Add("sdar.block_size", GgufValue.UInt32((uint)c.BlockSize));
            if (c.MaskTokenId is { } mask) w.Add("sdar.mask_token_id", GgufValue.UInt32((uint)mask));
        }
    }

    private static void AddTokenizerMetadata(GgufWriter w, GgufVocabulary v, int vocabSize)
    {
        w.Add("tokenizer.ggml.model", GgufValue.String("gpt2"));
        w.Add("tokenizer.ggml.pre", GgufValue.String(GgufVocabulary.Qwen2PreTokenizer));
        w.Add("tokenizer.ggml.tokens", GgufValue.Strings(v.Tokens));
        w.Add("tokenizer.ggml.token_type", GgufValue.Int32s(v.TokenTypes));
        w.Add("tokenizer.ggml.merges", GgufValue.Strings(v.Merges));
        void Id(string key, int? id)
        {
            if (id is not { } value) return;
            if ((uint)value >= (uint)vocabSize) throw new CheckpointException($"{key} {value} is not a token id below vocab_size {vocabSize}");
            w.Add(key, GgufValue.UInt32((uint)value));
        }
        Id("tokenizer.ggml.eos_token_id", v.EosTokenId);
        Id("tokenizer.ggml.padding_token_id", v.PaddingTokenId);
        Id("tokenizer.ggml.bos_token_id", v.BosTokenId);
        w.Add("tokenizer.ggml.add_bos_token", GgufValue.Bool(v.AddBosToken));
        if (v.ChatTemplate is { } template) w.Add("tokenizer.chat_template", GgufValue.String(template));
    }

    /// <summary>llama.cpp's name for every tensor, in the converter's order; the LM head only when it is not tied.</summary>
    public static IEnumerable<(string Name, WeightTensor Tensor)> TensorNames(ModelWeights weights)
    {
        yield return ("token_embd.weight", weights.EmbedTokens);
        for (int i = 0; i < weights.Layers.Count; i++)
        {
            var l = weights.Layers[i];
            var mlp = l.Mlp ?? throw new CheckpointException($"layer {i} has no dense MLP; MoE models are not exported");
            string p = $"blk.{i}";
            yield return ($"{p}.attn_norm.weight", l.InputLayernorm);
            yield return ($"{p}.attn_q.weight", l.QProj);
            yield return ($"{p}.attn_k.weight", l.KProj);
            yield return ($"{p}.attn_v.weight", l.VProj);
            yield return ($"{p}.attn_output.weight", l.OProj);
            yield return ($"{p}.attn_q_norm.weight", l.QNorm);
            yield return ($"{p}.attn_k_norm.weight", l.KNorm);
            yield return ($"{p}.ffn_norm.weight", l.PostAttentionLayernorm);
            yield return ($"{p}.ffn_gate.weight", mlp.GateProj);
            yield return ($"{p}.ffn_up.weight", mlp.UpProj);
            yield return ($"{p}.ffn_down.weight", mlp.DownProj);
        }
        yield return ("output_norm.weight", weights.Norm);
        if (!ReferenceEquals(weights.LmHead, weights.EmbedTokens)) yield return ("output.weight", weights.LmHead);
    }

    /// <summary>
    /// The GGUF entry of one tensor: dimensions reversed (PyTorch's (out, in) is ggml's [in, out]; the row-major bytes
    /// are the same), 1-D tensors in F32, matrices in the chosen type; a Q8_0 / Q4_0 matrix whose rows are not whole
    /// 32-element blocks falls back to F16, as the converter does. When <paramref name="repack"/> (a quantized model in
    /// its own format), the quantized matrices keep their values and the others (the embeddings) their precision.
    /// </summary>
    private static GgufTensorEntry Entry(string name, WeightTensor tensor, GgufOutputType type, bool repack)
    {
        long[] dimensions = tensor.Shape.Reverse().Select(d => (long)d).ToArray();
        GgmlType target = tensor.Shape.Count == 1 ? GgmlType.F32 : type switch
        {
            GgufOutputType.F32 => GgmlType.F32,
            _ when repack && !tensor.DType.IsQuantized() => tensor.DType switch
            {
                DType.BF16 => GgmlType.BF16,
                DType.F16 => GgmlType.F16,
                _ => GgmlType.F32,
            },
            GgufOutputType.BF16 => GgmlType.BF16,
            _ when tensor.Columns % GgufFormat.Q8BlockElements != 0 => GgmlType.F16,
            GgufOutputType.Q4_0 => GgmlType.Q4_0,
            _ => GgmlType.Q8_0,
        };
        return new GgufTensorEntry(name, target, dimensions, stream => TensorRows.Write(tensor, target, stream));
    }
}

/// <summary>Streams a weight tensor's rows converted to a ggml type, a few megabytes at a time.</summary>
internal static unsafe class TensorRows
{
    private const long ChunkBytes = 4 << 20;

    public static void Write(WeightTensor tensor, GgmlType target, Stream stream)
    {
        int columns = tensor.Columns, rows = tensor.Shape.Count == 1 ? 1 : (int)(tensor.ElementCount / columns);
        if (tensor.DType.IsQuantized() && target != GgmlType.F32)
        {
            WriteBlocks(tensor, target, stream);
            return;
        }
        if (SameBytes(tensor.DType, target))
        {
            // No conversion: the mapped bytes go out as they are.
            for (long at = 0; at < tensor.ByteLength; at += ChunkBytes)
                stream.Write(new ReadOnlySpan<byte>(tensor.Data + at, (int)Math.Min(ChunkBytes, tensor.ByteLength - at)));
            return;
        }
        long rowBytes = GgufFormat.RowBytes(target, columns);
        int rowsPerChunk = (int)Math.Max(1, ChunkBytes / Math.Max(rowBytes, columns * 4L));
        var floats = new float[(long)rowsPerChunk * columns];
        var bytes = new byte[rowsPerChunk * rowBytes];
        for (int first = 0; first < rows; first += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, rows - first);
            var values = floats.AsSpan(0, count * columns);
            ToFloats(tensor, (long)first * columns, values);
            var output = bytes.AsSpan(0, (int)(count * rowBytes));
            switch (target)
            {
                case GgmlType.F32:
                    MemoryMarshal.AsBytes(values).CopyTo(output);
                    break;
                case GgmlType.BF16:
                    var bf16 = MemoryMarshal.Cast<byte, ushort>(output);
                    for (int i = 0; i < values.Length; i++) bf16[i] = GgmlQuantization.ToBFloat16(values[i]);
                    break;
                case GgmlType.F16:
                    var f16 = MemoryMarshal.Cast<byte, Half>(output);
                    for (int i = 0; i < values.Length; i++) f16[i] = (Half)values[i];
                    break;
                case GgmlType.Q8_0:
                    GgmlQuantization.QuantizeQ8_0(values, output);
                    break;
                case GgmlType.Q4_0:
                    GgmlQuantization.QuantizeQ4_0(values, output);
                    break;
            }
            stream.Write(output);
        }
    }

    /// <summary>
    /// A quantized matrix in ggml's blocks: Sdar keeps a row's packed values and its scales apart (planar), ggml puts
    /// each group's fp16 scale before its values (<c>block_q8_0</c>, <c>block_q4_0</c>); the values and their nibble
    /// order are the same, so this only interleaves.
    /// </summary>
    private static void WriteBlocks(WeightTensor tensor, GgmlType target, Stream stream)
    {
        var expected = tensor.DType == DType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q4_0;
        if (target != expected)
            throw new ArgumentException($"tensor '{tensor.Name}' is {tensor.DType}; it re-packs only into ggml {expected}, not {target}");
        int rows = tensor.Rows, groups = tensor.Columns / QuantizedGroup.Size;
        int groupBytes = tensor.DType == DType.Q8_0 ? QuantizedGroup.Size : QuantizedGroup.Size / 2, blockBytes = 2 + groupBytes;
        long rowValueBytes = (long)groups * groupBytes, rowBytes = (long)groups * blockBytes;
        int rowsPerChunk = (int)Math.Max(1, ChunkBytes / rowBytes);
        var bytes = new byte[rowsPerChunk * rowBytes];
        for (int first = 0; first < rows; first += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, rows - first);
            for (int r = 0; r < count; r++)
            {
                byte* values = tensor.Data + (first + r) * rowValueBytes;
                ushort* scales = tensor.Scales + (long)(first + r) * groups;
                for (int g = 0; g < groups; g++)
                {
                    var block = bytes.AsSpan((int)(r * rowBytes + g * blockBytes), blockBytes);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(block, scales[g]);
                    new ReadOnlySpan<byte>(values + g * groupBytes, groupBytes).CopyTo(block[2..]);
                }
            }
            stream.Write(bytes.AsSpan(0, (int)(count * rowBytes)));
        }
    }

    private static bool SameBytes(DType source, GgmlType target) =>
        (source, target) is (DType.F32, GgmlType.F32) or (DType.BF16, GgmlType.BF16) or (DType.F16, GgmlType.F16);

    private static void ToFloats(WeightTensor tensor, long start, Span<float> destination)
    {
        switch (tensor.DType)
        {
            case DType.F32:
                new ReadOnlySpan<float>((float*)tensor.Data + start, destination.Length).CopyTo(destination);
                break;
            case DType.BF16:
                var bf16 = new ReadOnlySpan<ushort>((ushort*)tensor.Data + start, destination.Length);
                for (int i = 0; i < destination.Length; i++) destination[i] = GgmlQuantization.FromBFloat16(bf16[i]);
                break;
            case DType.F16:
                var f16 = new ReadOnlySpan<Half>((Half*)tensor.Data + start, destination.Length);
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)f16[i];
                break;
            case DType.Q8_0 or DType.Q4_0:
                // Dequantized row by row (q * d is exact in float); the chunks hold whole rows.
                int columns = tensor.Columns, first = (int)(start / columns);
                for (int r = 0; r < destination.Length / columns; r++) tensor.ReadRow(first + r, destination.Slice(r * columns, columns));
                break;
            default:
                throw new ArgumentException($"tensor '{tensor.Name}' is {tensor.DType}, which does not export to GGUF");
        }
    }
}
