using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// Saves a checkpoint folder that HuggingFace tools and <see cref="Checkpoint.Open"/> both read:
/// <c>config.json</c> (snake_case, sorted keys, with <c>architectures</c>), <c>model.safetensors</c> and,
/// when given, <c>generation_config.json</c>. Every file is replaced atomically.
/// </summary>
public static class CheckpointWriter
{
    public static void Save(string dir, ModelWeights weights, GenerationConfig? generation = null) =>
        Save(dir, weights.Config, ModelLayout.NamedTensors(weights), generation);

    public static void Save(string dir, ModelConfig config, ModelWeights weights, GenerationConfig? generation = null) =>
        Save(dir, config, ModelLayout.NamedTensors(weights), generation);

    /// <summary>
    /// Saves <paramref name="tensors"/> (keyed by HF names) with <paramref name="config"/>. The tensors must bind to
    /// the config exactly as <see cref="Checkpoint.Open"/> will bind them, so an unloadable folder is never written.
    /// A stale <c>model.safetensors.index.json</c> in the folder is removed, since it would take precedence.
    /// </summary>
    public static void Save(string dir, ModelConfig config, IReadOnlyDictionary<string, WeightTensor> tensors,
        GenerationConfig? generation = null)
    {
        dir = Path.GetFullPath(dir);
        string configPath = Path.Combine(dir, ConfigLoader.ConfigFileName);
        ConfigLoader.Validate(config, configPath);
        ModelWeights.Bind(config, tensors, $"tensors to save in {dir}");
        var quantized = tensors.Where(kv => kv.Value.DType.IsQuantized()).Select(kv => kv.Key).Order(StringComparer.Ordinal).FirstOrDefault();
        if (quantized is not null && config.QuantizationConfig?.WeightFormat != tensors[quantized].DType)
            throw new ArgumentException($"tensor '{quantized}' is {tensors[quantized].DType}, but the config's quantization_config is {config.QuantizationConfig?.Format ?? "absent"}");
        Directory.CreateDirectory(dir);

        // Quantized weights are written as NAME.qweight and NAME.scales (QuantizedTensors).
        SafetensorsWriter.Write(Path.Combine(dir, WeightFiles.SingleFileName), QuantizedTensors.Split(tensors), SafetensorsWriter.PyTorchMetadata);
        File.Delete(Path.Combine(dir, WeightFiles.IndexFileName));
        var dtype = tensors.TryGetValue("model.embed_tokens.weight", out var embed) ? embed.DType : (DType?)null;
        AtomicFile.WriteText(configPath, ToConfigJson(config, dtype));
        if (generation is not null)
            AtomicFile.WriteText(Path.Combine(dir, ConfigLoader.GenerationConfigFileName), ToGenerationConfigJson(generation));
    }

    /// <summary>The HF <c>architectures</c> entry for a model type.</summary>
    public static string ArchitectureOf(string modelType) => modelType switch
    {
        "sdar" => "SDARForCausalLM",
        "sdar_moe" => "SDARMoeForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        "qwen3_moe" => "Qwen3MoeForCausalLM",
        _ => throw new ArgumentException($"unknown model_type '{modelType}'", nameof(modelType)),
    };

    /// <summary>
    /// config.json text: the config's fields in snake_case, sorted as <c>transformers</c> writes them, without
    /// the fields that do not apply (SDAR keys on AR models, MoE keys on dense ones, absent ids).
    /// <paramref name="storedAs"/>, when given, sets <c>torch_dtype</c> to the precision the weights are saved in.
    /// </summary>
    public static string ToConfigJson(ModelConfig config, DType? storedAs = null)
    {
        var fields = JsonSerializer.SerializeToNode(config, ConfigLoader.SnakeCase)!.AsObject();
        var writable = typeof(ModelConfig).GetProperties().Where(p => p.CanWrite)
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).ToHashSet();
        var json = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
            if (writable.Contains(key) && value is not null) json[key] = value.DeepClone();

        json.Remove("eos_token_ids");
        if (config.EosTokenIds.Count > 1) json["eos_token_id"] = new JsonArray(config.EosTokenIds.Select(i => (JsonNode)i).ToArray());
        if (!config.IsDiffusion)
        {
            json.Remove("block_size");
            json.Remove("mask_token_id");
        }
        if (!config.ModelType.EndsWith("_moe", StringComparison.Ordinal))
        {
            foreach (var key in new[] { "num_experts", "num_experts_per_tok", "moe_intermediate_size", "decoder_sparse_step", "norm_topk_prob", "mlp_only_layers" })
                json.Remove(key);
        }
        if (storedAs is { } dtype) json["torch_dtype"] = TorchName(dtype);
        json["architectures"] = new JsonArray(ArchitectureOf(config.ModelType));
        // Fixed by the architecture (DESIGN section 2); written so that transformers builds the same model.
        json["hidden_act"] = "silu";
        json["attention_bias"] = false;
        return Serialize(json);
    }

    public static string ToGenerationConfigJson(GenerationConfig generation)
    {
        var json = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (generation.EosTokenIds.Count == 1) json["eos_token_id"] = generation.EosTokenIds[0];
        else if (generation.EosTokenIds.Count > 1) json["eos_token_id"] = new JsonArray(generation.EosTokenIds.Select(i => (JsonNode)i).ToArray());
        if (generation.PadTokenId is { } pad) json["pad_token_id"] = pad;
        if (generation.BosTokenId is { } bos) json["bos_token_id"] = bos;
        if (generation.DoSample is { } sample) json["do_sample"] = sample;
        if (generation.Temperature is { } temperature) json["temperature"] = temperature;
        if (generation.TopK is { } topK) json["top_k"] = topK;
        if (generation.TopP is { } topP) json["top_p"] = topP;
        if (generation.MaxNewTokens is { } maxNew) json["max_new_tokens"] = maxNew;
        return Serialize(json);
    }

    private static string TorchName(DType dtype) => dtype switch
    {
        DType.BF16 => "bfloat16",
        DType.F16 => "float16",
        DType.F32 => "float32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static string Serialize(SortedDictionary<string, JsonNode?> fields)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in fields) obj[key] = value;
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
