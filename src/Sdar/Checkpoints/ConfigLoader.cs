using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Config;
using Sdar.Model;

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
        using var document = JsonFile.Read(path, ConfigFileName);
        return ParseModelConfig(document, path);
    }

    /// <summary>Parses and validates config.json text; <paramref name="origin"/> names it in errors.</summary>
    public static ModelConfig ParseModelConfig(string json, string origin)
    {
        using var document = JsonFile.Parse(json, origin);
        return ParseModelConfig(document, origin);
    }

    private static ModelConfig ParseModelConfig(JsonDocument document, string origin)
    {
        var obj = ToObject(document, origin);
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
        if (!File.Exists(path) && new FileInfo(path).LinkTarget is null) return GenerationConfig.Empty;
        using var document = JsonFile.Read(path, GenerationConfigFileName);
        return ParseGenerationConfig(document, path);
    }

    /// <summary>Parses generation_config.json text; values are checked only against themselves (see <see cref="Validate(GenerationConfig, int, string)"/>).</summary>
    public static GenerationConfig ParseGenerationConfig(string json, string origin)
    {
        using var document = JsonFile.Parse(json, origin);
        return ParseGenerationConfig(document, origin);
    }

    private static GenerationConfig ParseGenerationConfig(JsonDocument document, string origin)
    {
        var obj = ToObject(document, origin);
        var eos = TakeTokenIds(obj, "eos_token_id", origin);
        var generation = Bind<GenerationConfig>(obj, origin) with { EosTokenIds = eos };
        Validate(generation, vocabSize: null, origin);
        return generation;
    }

    /// <summary>
    /// Checks generation_config.json's values as strictly as the flags they stand in for, with errors that name
    /// the file and the field: stop and pad ids inside the vocabulary (when <paramref name="vocabSize"/> is known),
    /// a finite temperature &gt;= 0, top_p in (0, 1], top_k &gt;= 0, positive lengths.
    /// </summary>
    public static void Validate(GenerationConfig generation, int? vocabSize, string origin)
    {
        void Fail(string field, string problem) => throw new CheckpointException($"{origin}: field '{field}' {problem}");
        if (generation.Temperature is { } temperature && !(double.IsFinite(temperature) && temperature >= 0))
            Fail("temperature", $"must be a finite number >= 0 (0 = greedy); found {temperature}");
        if (generation.TopP is { } topP && !(topP > 0 && topP <= 1))
            Fail("top_p", $"must be in (0, 1] (1 = off); found {topP}");
        if (generation.TopK is { } topK && topK < 0) Fail("top_k", $"must be >= 0 (0 = off); found {topK}");
        if (generation.MaxNewTokens is { } maxNew && maxNew < 1) Fail("max_new_tokens", $"must be at least 1; found {maxNew}");
        if (generation.MaxLength is { } maxLength && maxLength < 1) Fail("max_length", $"must be at least 1; found {maxLength}");
        if (vocabSize is not { } vocab) return;
        foreach (int id in generation.EosTokenIds)
            if (id < 0 || id >= vocab) Fail("eos_token_id", $"({id}) must lie in the vocabulary [0, {vocab}) of config.json");
        foreach (var (field, id) in new[] { ("pad_token_id", generation.PadTokenId), ("bos_token_id", generation.BosTokenId) })
            if (id is { } v && (v < 0 || v >= vocab)) Fail(field, $"({v}) must lie in the vocabulary [0, {vocab}) of config.json");
    }

    /// <summary>
    /// Checks the values a model cannot run with: sizes out of range (each bounded far above any released model, so
    /// a corrupt or hostile 2147483647 is refused before anything is sized from it), heads that do not group, an
    /// unknown model type, SDAR without a block size or with a mask id outside the vocabulary, MoE without experts,
    /// and tensor sizes whose products overflow (computed in checked 64-bit arithmetic).
    /// </summary>
    public static void Validate(ModelConfig config, string origin)
    {
        void Fail(string field, string problem) => throw new CheckpointException($"{origin}: field '{field}' {problem}");
        void InRange(string field, long value, long max)
        {
            if (value < 1 || value > max) Fail(field, $"must be an integer from 1 to {max}; found {value}");
        }
        void PositiveFinite(string field, double value)
        {
            if (!(value > 0 && double.IsFinite(value))) Fail(field, $"must be a finite positive number; found {value}");
        }

        if (!SupportedModelTypes.Contains(config.ModelType))
            Fail("model_type", $"is '{config.ModelType}', expected one of {string.Join(", ", SupportedModelTypes)}");
        InRange("hidden_size", config.HiddenSize, ConfigLimits.MaxHiddenSize);
        InRange("intermediate_size", config.IntermediateSize, ConfigLimits.MaxIntermediateSize);
        InRange("num_hidden_layers", config.NumHiddenLayers, ConfigLimits.MaxLayers);
        InRange("num_attention_heads", config.NumAttentionHeads, ConfigLimits.MaxHeads);
        InRange("num_key_value_heads", config.NumKeyValueHeads, ConfigLimits.MaxHeads);
        InRange("head_dim", config.HeadDim, ConfigLimits.MaxHeadDim);
        InRange("vocab_size", config.VocabSize, ConfigLimits.MaxVocabSize);
        InRange("max_position_embeddings", config.MaxPositionEmbeddings, ConfigLimits.MaxPositions);
        PositiveFinite("rope_theta", config.RopeTheta);
        PositiveFinite("rms_norm_eps", config.RmsNormEps);
        if (config.NumAttentionHeads % config.NumKeyValueHeads != 0)
            Fail("num_attention_heads", $"({config.NumAttentionHeads}) must be a multiple of num_key_value_heads ({config.NumKeyValueHeads}) for grouped-query attention");
        if (config.HeadDim % 2 != 0) Fail("head_dim", $"must be even for rotary embeddings (found {config.HeadDim})");

        if (config.IsDiffusion)
        {
            InRange("block_size", config.BlockSize, Math.Min(ConfigLimits.MaxBlockSize, config.MaxPositionEmbeddings));
            if (config.MaskTokenId is not { } mask) Fail("mask_token_id", "is required for model_type '" + config.ModelType + "'");
            else if (mask < 0 || mask >= config.VocabSize)
                Fail("mask_token_id", $"({mask}) must lie in the vocabulary [0, {config.VocabSize})");
        }
        if (config.ModelType.EndsWith("_moe", StringComparison.Ordinal))
        {
            InRange("num_experts", config.NumExperts, ConfigLimits.MaxExperts);
            InRange("moe_intermediate_size", config.MoeIntermediateSize, ConfigLimits.MaxIntermediateSize);
            if (config.NumExpertsPerTok < 1 || config.NumExpertsPerTok > config.NumExperts)
                Fail("num_experts_per_tok", $"({config.NumExpertsPerTok}) must lie in [1, num_experts = {config.NumExperts}]");
            InRange("decoder_sparse_step", config.DecoderSparseStep, ConfigLimits.MaxLayers);
        }
        foreach (int layer in config.MlpOnlyLayers)
            if (layer < 0 || layer >= config.NumHiddenLayers)
                Fail("mlp_only_layers", $"lists layer {layer}, outside [0, num_hidden_layers = {config.NumHiddenLayers})");
        foreach (var (field, id) in new[] { ("eos_token_id", config.EosTokenId), ("pad_token_id", config.PadTokenId), ("bos_token_id", config.BosTokenId) })
        {
            if (id is { } v && (v < 0 || v >= config.VocabSize))
                Fail(field, $"({v}) must lie in the vocabulary [0, {config.VocabSize})");
        }
        foreach (int id in config.EosTokenIds)
            if (id < 0 || id >= config.VocabSize) Fail("eos_token_id", $"({id}) must lie in the vocabulary [0, {config.VocabSize})");
        if (config.QuantizationConfig is { } quantization) Validate(quantization, origin);
        CheckSizes(config, origin);
    }

    private static void Validate(QuantizationConfig quantization, string origin)
    {
        void Fail(string field, string problem) => throw new CheckpointException($"{origin}: field 'quantization_config.{field}' {problem}");
        if (quantization.QuantMethod != QuantizationConfig.MethodName)
            Fail("quant_method", $"is '{quantization.QuantMethod}'; this loader reads only '{QuantizationConfig.MethodName}' (written by sdar quantize)");
        int bits = quantization.Format switch
        {
            "q8_0" => 8,
            "q4_0" => 4,
            _ => 0,
        };
        if (bits == 0) Fail("format", $"is '{quantization.Format}', expected q8_0 or q4_0");
        if (quantization.Bits != bits) Fail("bits", $"is {quantization.Bits}, but format {quantization.Format} has {bits}");
        if (quantization.GroupSize != QuantizedGroup.Size)
            Fail("group_size", $"is {quantization.GroupSize}; the kernels use groups of {QuantizedGroup.Size}");
    }

    /// <summary>
    /// Every size the loader and the engine compute from the config, in checked 64-bit arithmetic: the widths of
    /// the attention projections (an int in the engine), each tensor's element count, and the parameter count.
    /// </summary>
    private static void CheckSizes(ModelConfig config, string origin)
    {
        long qWidth = (long)config.NumAttentionHeads * config.HeadDim;
        if (qWidth > ConfigLimits.MaxWidth)
            throw new CheckpointException(
                $"{origin}: fields 'num_attention_heads' x 'head_dim' ({config.NumAttentionHeads} x {config.HeadDim} = {qWidth}) exceed {ConfigLimits.MaxWidth}");
        long parameters;
        try
        {
            parameters = ModelMemory.ParameterCount(config);
        }
        catch (OverflowException)
        {
            throw new CheckpointException($"{origin}: the sizes give a parameter count beyond 64-bit arithmetic; the config is corrupt");
        }
        if (parameters > ConfigLimits.MaxParameters)
            throw new CheckpointException(
                $"{origin}: the sizes give {parameters} parameters, above the {ConfigLimits.MaxParameters} this loader accepts; the config is corrupt");
        foreach (var (name, rows, columns) in ModelMemory.LargestMatrices(config))
        {
            long elements = checked((long)rows * columns);
            if (elements > ConfigLimits.MaxTensorElements)
                throw new CheckpointException(
                    $"{origin}: tensor '{name}' would be [{rows}, {columns}] = {elements} elements, above {ConfigLimits.MaxTensorElements}");
        }
    }

    /// <summary>The checked document as a mutable object, with JSON nulls removed (null counts as absent).</summary>
    private static JsonObject ToObject(JsonDocument document, string origin)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{origin}: expected a JSON object at the top level, found {document.RootElement.ValueKind}");
        var obj = JsonObject.Create(document.RootElement.Clone())!;
        foreach (var key in obj.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList()) obj.Remove(key);
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
