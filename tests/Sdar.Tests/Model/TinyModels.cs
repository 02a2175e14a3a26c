using Sdar.Config;
using Sdar.Model;

namespace Sdar.Tests.Model;

/// <summary>Small random models in memory for engine tests (dense and MoE, BF16 or F32 weights).</summary>
internal static class TinyModels
{
    public static ModelConfig Config(bool moe = false, bool tied = false, int hidden = 64, int headDim = 16) => new()
    {
        ModelType = moe ? "sdar_moe" : "sdar",
        HiddenSize = hidden,
        IntermediateSize = 96,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = headDim,
        VocabSize = 97,
        RopeTheta = 10000,
        TieWordEmbeddings = tied,
        BlockSize = 4,
        MaskTokenId = 96,
        NumExperts = moe ? 4 : 0,
        NumExpertsPerTok = moe ? 2 : 0,
        MoeIntermediateSize = moe ? 32 : 0,
        NormTopkProb = true,
    };

    public static ModelWeights Create(ModelConfig config, DType dtype = DType.BF16, int seed = 1)
    {
        var random = new Random(seed);
        var tensors = new Dictionary<string, WeightTensor>();
        void Add(string name, float scale, float offset, params int[] shape)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[count * dtype.SizeInBytes()];
            for (long i = 0; i < count; i++)
            {
                float value = offset + scale * (float)(random.NextDouble() * 2 - 1);
                switch (dtype)
                {
                    case DType.F32: BitConverter.TryWriteBytes(bytes.AsSpan((int)(i * 4), 4), value); break;
                    case DType.BF16: BitConverter.TryWriteBytes(bytes.AsSpan((int)(i * 2), 2), (ushort)(BitConverter.SingleToInt32Bits(value) >> 16)); break;
                    case DType.F16: BitConverter.TryWriteBytes(bytes.AsSpan((int)(i * 2), 2), (Half)value); break;
                }
            }
            tensors[name] = new WeightTensor(name, dtype, shape, bytes);
        }
        int h = config.HiddenSize, hd = config.HeadDim;
        Add("model.embed_tokens.weight", 1f, 0, config.VocabSize, h);
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}";
            Add($"{p}.input_layernorm.weight", 0.2f, 1, h);
            Add($"{p}.post_attention_layernorm.weight", 0.2f, 1, h);
            Add($"{p}.self_attn.q_proj.weight", 0.3f, 0, config.NumAttentionHeads * hd, h);
            Add($"{p}.self_attn.k_proj.weight", 0.3f, 0, config.NumKeyValueHeads * hd, h);
            Add($"{p}.self_attn.v_proj.weight", 0.3f, 0, config.NumKeyValueHeads * hd, h);
            Add($"{p}.self_attn.o_proj.weight", 0.2f, 0, h, config.NumAttentionHeads * hd);
            Add($"{p}.self_attn.q_norm.weight", 0.2f, 1, hd);
            Add($"{p}.self_attn.k_norm.weight", 0.2f, 1, hd);
            if (config.IsMoeLayer(l))
            {
                Add($"{p}.mlp.gate.weight", 0.5f, 0, config.NumExperts, h);
                for (int e = 0; e < config.NumExperts; e++)
                {
                    Add($"{p}.mlp.experts.{e}.gate_proj.weight", 0.2f, 0, config.MoeIntermediateSize, h);
                    Add($"{p}.mlp.experts.{e}.up_proj.weight", 0.2f, 0, config.MoeIntermediateSize, h);
                    Add($"{p}.mlp.experts.{e}.down_proj.weight", 0.2f, 0, h, config.MoeIntermediateSize);
                }
            }
            else
            {
                Add($"{p}.mlp.gate_proj.weight", 0.2f, 0, config.IntermediateSize, h);
                Add($"{p}.mlp.up_proj.weight", 0.2f, 0, config.IntermediateSize, h);
                Add($"{p}.mlp.down_proj.weight", 0.2f, 0, h, config.IntermediateSize);
            }
        }
        Add("model.norm.weight", 0.2f, 1, h);
        if (!config.TieWordEmbeddings) Add("lm_head.weight", 0.3f, 0, config.VocabSize, h);
        return ModelWeights.Bind(config, tensors, "tiny random model");
    }
}
