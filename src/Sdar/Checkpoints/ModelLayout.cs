using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>A tensor a checkpoint holds: its HuggingFace key and shape.</summary>
public sealed record TensorSpec(string Name, int[] Shape);

/// <summary>
/// The HuggingFace keys of a Qwen3 / SDAR checkpoint (DESIGN section 5), the inverse of
/// <see cref="ModelWeights.Bind"/>: which tensors a config needs, and the named tensors of bound weights.
/// </summary>
public static class ModelLayout
{
    /// <summary>Every tensor a checkpoint of <paramref name="config"/> holds (no <c>lm_head</c> when tied).</summary>
    public static IReadOnlyList<TensorSpec> Tensors(ModelConfig config)
    {
        int h = config.HiddenSize, hd = config.HeadDim;
        var specs = new List<TensorSpec> { new("model.embed_tokens.weight", [config.VocabSize, h]) };
        void Mlp(string prefix, int inter)
        {
            specs.Add(new($"{prefix}.gate_proj.weight", [inter, h]));
            specs.Add(new($"{prefix}.up_proj.weight", [inter, h]));
            specs.Add(new($"{prefix}.down_proj.weight", [h, inter]));
        }
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}";
            specs.Add(new($"{p}.input_layernorm.weight", [h]));
            specs.Add(new($"{p}.self_attn.q_proj.weight", [config.NumAttentionHeads * hd, h]));
            specs.Add(new($"{p}.self_attn.k_proj.weight", [config.NumKeyValueHeads * hd, h]));
            specs.Add(new($"{p}.self_attn.v_proj.weight", [config.NumKeyValueHeads * hd, h]));
            specs.Add(new($"{p}.self_attn.o_proj.weight", [h, config.NumAttentionHeads * hd]));
            specs.Add(new($"{p}.self_attn.q_norm.weight", [hd]));
            specs.Add(new($"{p}.self_attn.k_norm.weight", [hd]));
            specs.Add(new($"{p}.post_attention_layernorm.weight", [h]));
            if (config.IsMoeLayer(l))
            {
                specs.Add(new($"{p}.mlp.gate.weight", [config.NumExperts, h]));
                for (int e = 0; e < config.NumExperts; e++) Mlp($"{p}.mlp.experts.{e}", config.MoeIntermediateSize);
            }
            else
            {
                Mlp($"{p}.mlp", config.IntermediateSize);
            }
        }
        specs.Add(new("model.norm.weight", [h]));
        if (!config.TieWordEmbeddings) specs.Add(new("lm_head.weight", [config.VocabSize, h]));
        return specs;
    }

    /// <summary>
    /// The tensors of <paramref name="weights"/> under their HuggingFace keys, ready to save. A tied head (the
    /// same tensor as the embedding) is left out, as HF does; a separate head is kept.
    /// </summary>
    public static IReadOnlyDictionary<string, WeightTensor> NamedTensors(ModelWeights weights)
    {
        var named = new Dictionary<string, WeightTensor>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = weights.EmbedTokens,
            ["model.norm.weight"] = weights.Norm,
        };
        void Mlp(string prefix, DenseMlpWeights mlp)
        {
            named[$"{prefix}.gate_proj.weight"] = mlp.GateProj;
            named[$"{prefix}.up_proj.weight"] = mlp.UpProj;
            named[$"{prefix}.down_proj.weight"] = mlp.DownProj;
        }
        for (int l = 0; l < weights.Layers.Count; l++)
        {
            var layer = weights.Layers[l];
            string p = $"model.layers.{l}";
            named[$"{p}.input_layernorm.weight"] = layer.InputLayernorm;
            named[$"{p}.self_attn.q_proj.weight"] = layer.QProj;
            named[$"{p}.self_attn.k_proj.weight"] = layer.KProj;
            named[$"{p}.self_attn.v_proj.weight"] = layer.VProj;
            named[$"{p}.self_attn.o_proj.weight"] = layer.OProj;
            named[$"{p}.self_attn.q_norm.weight"] = layer.QNorm;
            named[$"{p}.self_attn.k_norm.weight"] = layer.KNorm;
            named[$"{p}.post_attention_layernorm.weight"] = layer.PostAttentionLayernorm;
            if (layer.Mlp is { } mlp) Mlp($"{p}.mlp", mlp);
            if (layer.Moe is { } moe)
            {
                named[$"{p}.mlp.gate.weight"] = moe.Router;
                for (int e = 0; e < moe.Experts.Count; e++) Mlp($"{p}.mlp.experts.{e}", moe.Experts[e]);
            }
        }
        if (!ReferenceEquals(weights.LmHead, weights.EmbedTokens)) named["lm_head.weight"] = weights.LmHead;
        return named;
    }
}
