using Sdar.Config;

namespace Sdar.Model;

/// <summary>One SwiGLU feed-forward network: down(silu(gate x) * up x).</summary>
public sealed record DenseMlpWeights(WeightTensor GateProj, WeightTensor UpProj, WeightTensor DownProj);

/// <summary>A Qwen3-MoE sparse block: a softmax router over experts, each a SwiGLU MLP.</summary>
public sealed record MoeWeights(WeightTensor Router, IReadOnlyList<DenseMlpWeights> Experts);

public sealed record LayerWeights(
    WeightTensor InputLayernorm,
    WeightTensor QProj,
    WeightTensor KProj,
    WeightTensor VProj,
    WeightTensor OProj,
    WeightTensor QNorm,
    WeightTensor KNorm,
    WeightTensor PostAttentionLayernorm,
    DenseMlpWeights? Mlp,
    MoeWeights? Moe);

/// <summary>
/// The tensors of a Qwen3 / SDAR model, bound by their HuggingFace keys (DESIGN section 5).
/// <see cref="Bind"/> checks every key: a missing, unexpected or wrongly shaped tensor is an error that names it.
/// </summary>
public sealed class ModelWeights
{
    public required ModelConfig Config { get; init; }
    public required WeightTensor EmbedTokens { get; init; }
    public required IReadOnlyList<LayerWeights> Layers { get; init; }
    public required WeightTensor Norm { get; init; }
    /// <summary>The output projection; the same tensor as <see cref="EmbedTokens"/> when embeddings are tied.</summary>
    public required WeightTensor LmHead { get; init; }

    /// <summary>
    /// Binds <paramref name="tensors"/> to the architecture described by <paramref name="config"/>.
    /// <paramref name="origin"/> names where the tensors came from, for error messages.
    /// <paramref name="fileOf"/>, when given, names the file holding a tensor.
    /// </summary>
    public static ModelWeights Bind(ModelConfig config, IReadOnlyDictionary<string, WeightTensor> tensors, string origin,
        Func<string, string>? fileOf = null)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        int h = config.HiddenSize, hd = config.HeadDim;

        WeightTensor Take(string key, params int[] shape)
        {
            if (!tensors.TryGetValue(key, out var t))
                throw new CheckpointException($"{origin}: missing tensor '{key}' (expected shape [{string.Join(", ", shape)}])");
            if (t.Shape.Count != shape.Length || !t.Shape.SequenceEqual(shape))
                throw new CheckpointException(
                    $"{fileOf?.Invoke(key) ?? origin}: tensor '{key}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
            used.Add(key);
            return t;
        }

        DenseMlpWeights Mlp(string prefix, int inter) => new(
            Take($"{prefix}.gate_proj.weight", inter, h),
            Take($"{prefix}.up_proj.weight", inter, h),
            Take($"{prefix}.down_proj.weight", h, inter));

        var embed = Take("model.embed_tokens.weight", config.VocabSize, h);
        var layers = new List<LayerWeights>(config.NumHiddenLayers);
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}";
            MoeWeights? moe = null;
            DenseMlpWeights? mlp = null;
            if (config.IsMoeLayer(l))
            {
                var router = Take($"{p}.mlp.gate.weight", config.NumExperts, h);
                var experts = new List<DenseMlpWeights>(config.NumExperts);
                for (int e = 0; e < config.NumExperts; e++) experts.Add(Mlp($"{p}.mlp.experts.{e}", config.MoeIntermediateSize));
                moe = new MoeWeights(router, experts);
            }
            else
            {
                mlp = Mlp($"{p}.mlp", config.IntermediateSize);
            }
            layers.Add(new LayerWeights(
                Take($"{p}.input_layernorm.weight", h),
                Take($"{p}.self_attn.q_proj.weight", config.NumAttentionHeads * hd, h),
                Take($"{p}.self_attn.k_proj.weight", config.NumKeyValueHeads * hd, h),
                Take($"{p}.self_attn.v_proj.weight", config.NumKeyValueHeads * hd, h),
                Take($"{p}.self_attn.o_proj.weight", h, config.NumAttentionHeads * hd),
                Take($"{p}.self_attn.q_norm.weight", hd),
                Take($"{p}.self_attn.k_norm.weight", hd),
                Take($"{p}.post_attention_layernorm.weight", h),
                mlp, moe));
        }
        var norm = Take("model.norm.weight", h);
        WeightTensor head;
        if (config.TieWordEmbeddings)
        {
            // Tied checkpoints usually omit lm_head; when one is present it must at least have the right shape.
            head = tensors.ContainsKey("lm_head.weight") ? Take("lm_head.weight", config.VocabSize, h) : embed;
        }
        else
        {
            head = Take("lm_head.weight", config.VocabSize, h);
        }

        var unexpected = tensors.Keys.Where(k => !used.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException(
                $"{fileOf?.Invoke(unexpected[0]) ?? origin}: unexpected tensor '{unexpected[0]}'" +
                (unexpected.Count > 1 ? $" (and {unexpected.Count - 1} more)" : "") + $" for model_type '{config.ModelType}'");

        return new ModelWeights { Config = config, EmbedTokens = embed, Layers = layers, Norm = norm, LmHead = head };
    }

    /// <summary>
    /// Number of parameters, tied embeddings counted once: also when the head of a quantized model is a packed copy
    /// of the embeddings (<see cref="WeightQuantizer"/> keeps the embeddings in their precision for the lookups).
    /// </summary>
    public long ParameterCount()
    {
        var seen = new HashSet<WeightTensor>(ReferenceEqualityComparer.Instance);
        if (Config.TieWordEmbeddings && !ReferenceEquals(LmHead, EmbedTokens)) seen.Add(LmHead);
        long n = 0;
        foreach (var t in AllTensors()) if (seen.Add(t)) n += t.ElementCount;
        return n;
    }

    /// <summary>The group-quantized formats (Q8_0, Q4_0) among the tensors, each once.</summary>
    public IReadOnlyList<DType> QuantizedFormats() => AllTensors().Select(t => t.DType).Where(d => d.IsQuantized()).Distinct().ToArray();

    public IEnumerable<WeightTensor> AllTensors()
    {
        yield return EmbedTokens;
        foreach (var l in Layers)
        {
            yield return l.InputLayernorm; yield return l.QProj; yield return l.KProj; yield return l.VProj;
            yield return l.OProj; yield return l.QNorm; yield return l.KNorm; yield return l.PostAttentionLayernorm;
            if (l.Mlp is { } m) { yield return m.GateProj; yield return m.UpProj; yield return m.DownProj; }
            if (l.Moe is { } moe)
            {
                yield return moe.Router;
                foreach (var e in moe.Experts) { yield return e.GateProj; yield return e.UpProj; yield return e.DownProj; }
            }
        }
        yield return Norm;
        yield return LmHead;
    }
}
