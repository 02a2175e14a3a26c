using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Config;

namespace Sdar.Checkpoints;

/// <summary>
/// Binds <c>config.json</c> to <see cref="ModelConfig"/> and <c>generation_config.json</c> to
/// <see cref="GenerationConfig"/> (snake_case keys, DESIGN section 5). Unknown keys are ignored and a JSON
/// <c>null</c> counts as absent (HF writes <c>"rope_scaling": null</c> and the like); a known key of the wrong
/// type, a missing required key or an impossible value is a <see cref="CheckpointException"/> naming the file
/// and the field.
/// </summary>
public static class ConfigLoader
{
    public const string ConfigFileName = "config.json";
    public const string GenerationConfigFileName = "generation_config.json";

    /// <summary>The model types this implementation runs (dense and MoE, diffusion and AR).</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["sdar", "qwen3", "sdar_moe", "qwen3_moe"];

    internal static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static ModelConfig LoadModelConfig(string path)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path)) throw new CheckpointException($"{path}: config file not found");
        return ParseModelConfig(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates config.json text; <paramref name="origin"/> names it in errors.</summary>
    public static ModelConfig ParseModelConfig(string json, string origin)
    {
        var obj = ParseObject(json, origin);
        var eos = TakeTokenIds(obj, "eos_token_id", origin);
        // transformers >= 4.56 writes "dtype" where older versions wrote "torch_dtype".
        if (!obj.ContainsKey("torch_dtype") && obj["dtype"] is JsonValue dtype && dtype.GetValueKind() == JsonValueKind.String)
            obj["torch_dtype"] = dtype.GetValue<string>();

        var config = Bind<ModelConfig>(obj, origin) with
        {
            EosTokenId = eos.Count > 0 ? eos[0] : null,
            EosTokenIds = eos,
        };
        Validate(config, origin);
        return config;
    }

    /// <summary>Loads generation_config.json; a missing file gives <see cref="GenerationConfig.Empty"/>.</summary>
    public static GenerationConfig LoadGenerationConfig(string path)
    {
        path = Path.GetFullPath(path);
        return File.Exists(path) ? ParseGenerationConfig(File.ReadAllText(path), path) : GenerationConfig.Empty;
    }

    public static GenerationConfig ParseGenerationConfig(string json, string origin)
    {
        var obj = ParseObject(json, origin);
        var eos = TakeTokenIds(obj, "eos_token_id", origin);
        return Bind<GenerationConfig>(obj, origin) with { EosTokenIds = eos };
    }

    /// <summary>
    /// Checks the values a model cannot run with: non-positive sizes, heads that do not group, an unknown
    /// model type, SDAR without a block size or with a mask id outside the vocabulary, MoE without experts.
    /// </summary>
    public static void Validate(ModelConfig config, string origin)
    {
        void Fail(string field, string problem) => throw new CheckpointException($"{origin}: field '{field}' {problem}");
        void Positive(string field, double value)
        {
            if (!(value > 0)) Fail(field, $"must be positive (found {value})");
        }

        if (!SupportedModelTypes.Contains(config.ModelType))
            Fail("model_type", $"is '{config.ModelType}', expected one of {string.Join(", ", SupportedModelTypes)}");
        Positive("hidden_size", config.HiddenSize);
        Positive("intermediate_size", config.IntermediateSize);
        Positive("num_hidden_layers", config.NumHiddenLayers);
        Positive("num_attention_heads", config.NumAttentionHeads);
        Positive("num_key_value_heads", config.NumKeyValueHeads);
        Positive("head_dim", config.HeadDim);
        Positive("vocab_size", config.VocabSize);
        Positive("rope_theta", config.RopeTheta);
        Positive("rms_norm_eps", config.RmsNormEps);
        Positive("max_position_embeddings", config.MaxPositionEmbeddings);
        if (config.NumAttentionHeads % config.NumKeyValueHeads != 0)
            Fail("num_attention_heads", $"({config.NumAttentionHeads}) must be a multiple of num_key_value_heads ({config.NumKeyValueHeads}) for grouped-query attention");
        if (config.HeadDim % 2 != 0) Fail("head_dim", $"must be even for rotary embeddings (found {config.HeadDim})");

        if (config.IsDiffusion)
        {
            Positive("block_size", config.BlockSize);
            if (config.MaskTokenId is not { } mask) Fail("mask_token_id", "is required for model_type '" + config.ModelType + "'");
            else if (mask < 0 || mask >= config.VocabSize)
                Fail("mask_token_id", $"({mask}) must lie in the vocabulary [0, {config.VocabSize})");
        }
        if (config.ModelType.EndsWith("_moe", StringComparison.Ordinal))
        {
            Positive("num_experts", config.NumExperts);
            Positive("moe_intermediate_size", config.MoeIntermediateSize);
            if (config.NumExpertsPerTok < 1 || config.NumExpertsPerTok > config.NumExperts)
                Fail("num_experts_per_tok", $"({config.NumExpertsPerTok}) must lie in [1, num_experts = {config.NumExperts}]");
            if (config.DecoderSparseStep < 1) Fail("decoder_sparse_step", $"must be at least 1 (found {config.DecoderSparseStep})");
        }
        foreach (var (field, id) in new[] { ("eos_token_id", config.EosTokenId), ("pad_token_id", config.PadTokenId), ("bos_token_id", config.BosTokenId) })
        {
            if (id is { } v && (v < 0 || v >= config.VocabSize))
                Fail(field, $"({v}) must lie in the vocabulary [0, {config.VocabSize})");
        }
    }

    private static JsonObject ParseObject(string json, string origin)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{origin}: not valid JSON ({e.Message})", e);
        }
        if (node is not JsonObject obj)
            throw new CheckpointException($"{origin}: expected a JSON object at the top level");
        try
        {
            foreach (var key in obj.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList()) obj.Remove(key);
        }
        catch (ArgumentException e)
        {
            // JsonObject materialises lazily and refuses duplicate keys at that point.
            throw new CheckpointException($"{origin}: not valid JSON: a key appears twice ({e.Message})", e);
        }
        return obj;
    }

    /// <summary>Removes <paramref name="field"/> (an int or a list of ints) from the object and returns its ids.</summary>
    private static List<int> TakeTokenIds(JsonObject obj, string field, string origin)
    {
        if (!obj.Remove(field, out var node) || node is null) return [];
        var ids = new List<int>();
        var items = node is JsonArray array ? array.ToList() : [node];
        foreach (var item in items)
        {
            if (item is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue(out int id))
                throw new CheckpointException(
                    $"{origin}: field '{field}' must be an integer or a list of integers, found {node.ToJsonString()}");
            ids.Add(id);
        }
        return ids;
    }

    private static T Bind<T>(JsonObject obj, string origin)
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), StringComparer.Ordinal);
        var missing = properties.Where(p => p.Value.IsDefined(typeof(RequiredMemberAttribute)) && !obj.ContainsKey(p.Key))
            .Select(p => $"'{p.Key}' ({Describe(p.Value.PropertyType)})").ToList();
        if (missing.Count > 0)
            throw new CheckpointException($"{origin}: missing required field{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}");
        try
        {
            return obj.Deserialize<T>(SnakeCase) ?? throw new CheckpointException($"{origin}: expected a JSON object");
        }
        catch (JsonException e)
        {
            string field = FieldOf(e.Path);
            string expected = properties.TryGetValue(field, out var p) ? Describe(p.PropertyType) : "another type";
            throw new CheckpointException(
                $"{origin}: field '{field}' must be {expected}, found {obj[field]?.ToJsonString() ?? "null"}", e);
        }
    }

    /// <summary>"$.mlp_only_layers[1]" -> "mlp_only_layers".</summary>
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "(unknown)";
        string field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        if (field.StartsWith("['", StringComparison.Ordinal)) field = field[2..field.IndexOf('\'', 2)];
        int end = field.IndexOfAny(['.', '[']);
        return end < 0 ? field : field[..end];
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type == typeof(bool)) return "a boolean (true or false)";
        if (type == typeof(string)) return "a string";
        if (type.IsGenericType && type.GetGenericArguments() is [var element] && typeof(System.Collections.IEnumerable).IsAssignableFrom(type))
            return $"a list of {Describe(element)[(Describe(element).IndexOf(' ') + 1)..]}s";
        return type.Name;
    }
}
