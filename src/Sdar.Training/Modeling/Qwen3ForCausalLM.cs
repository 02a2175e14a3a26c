using Sdar.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sdar.Training.Modeling;

// The Qwen3 / SDAR decoder of DESIGN section 2 as TorchSharp modules, read top to bottom like the architecture.
// Field names are the HuggingFace checkpoint keys (model.layers.N.self_attn.q_proj, ...), so that the state dict
// and the safetensors file line up one to one. The same modules serve AR ("qwen3") and SDAR ("sdar") checkpoints:
// the difference lies only in the mask and the objective, not in the network.
// Snake_case fields are deliberate (they are the keys), hence the suppressed naming rules.
#pragma warning disable IDE1006, CA1051, SA1300, SA1307

/// <summary>How the matrix products run: in float32, or in bfloat16 against float32 master weights (autocast).</summary>
public enum ComputePrecision
{
    Fp32,
    /// <summary>Linear layers and attention in bfloat16 (libtorch uses avx512_bf16 on this CPU); norms, softmax of the loss and the weights stay float32.</summary>
    Bf16,
}

/// <summary>The whole causal language model: <c>model</c> (the decoder) and <c>lm_head</c> (absent when tied).</summary>
public sealed class Qwen3ForCausalLM : Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly Qwen3Model model;
    public readonly Linear? lm_head;

    private readonly Compute _compute = new();

    public ModelConfig Config { get; private set; }

    /// <summary>
    /// Replaces settings that do not change the network (block_size, mask_token_id, ids); the shapes must stay.
    /// </summary>
    public void UpdateConfig(ModelConfig config)
    {
        if (config with { BlockSize = Config.BlockSize, MaskTokenId = Config.MaskTokenId, ModelType = Config.ModelType,
                EosTokenId = Config.EosTokenId, EosTokenIds = Config.EosTokenIds, PadTokenId = Config.PadTokenId, BosTokenId = Config.BosTokenId } != Config)
            throw new ArgumentException("the new config changes the architecture; build a new model instead", nameof(config));
        Config = config;
    }

    public ComputePrecision Precision
    {
        get => _compute.Precision;
        set => _compute.Precision = value;
    }

    public Qwen3ForCausalLM(ModelConfig config) : base(nameof(Qwen3ForCausalLM))
    {
        Config = config;
        model = new Qwen3Model(config, _compute);
        // Tied embeddings: the head reuses model.embed_tokens.weight, so there is no lm_head parameter (HF omits the key).
        if (!config.TieWordEmbeddings) lm_head = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    /// <summary>
    /// Logits (B, T, V) for token ids (B, T), position ids (B, T) and an attention mask: boolean (B, T, T) with true
    /// where query t may attend to key s, or additive float (B, T, T).
    /// </summary>
    public override Tensor forward(Tensor inputIds, Tensor positionIds, Tensor attentionMask) =>
        Logits(Hidden(inputIds, positionIds, attentionMask));

    /// <summary>The final normed hidden states (B, T, H); objectives pick the rows they score before <see cref="Logits"/>.</summary>
    public Tensor Hidden(Tensor inputIds, Tensor positionIds, Tensor attentionMask) =>
        model.forward(inputIds, positionIds, attentionMask);

    /// <summary>The output projection of hidden states (..., H) to logits (..., V), in float32.</summary>
    public Tensor Logits(Tensor hidden) => _compute.Project(hidden, lm_head?.weight ?? model.embed_tokens.weight!);

    /// <summary>Number of parameters (a tied head counted once).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}

/// <summary>
/// The precision setting the modules share. A plain object, not a module: a module field would be registered as a
/// submodule (and a reference to the parent would make a cycle).
/// </summary>
internal sealed class Compute
{
    public ComputePrecision Precision { get; set; } = ComputePrecision.Fp32;

    /// <summary>x W^T in the compute precision, returned as float32.</summary>
    public Tensor Project(Tensor x, Tensor weight)
    {
        if (Precision == ComputePrecision.Fp32) return F.linear(x, weight);
        using var xb = x.to(ScalarType.BFloat16);
        using var wb = weight.to(ScalarType.BFloat16);
        using var y = F.linear(xb, wb);
        return y.to(ScalarType.Float32);
    }
}

/// <summary>The decoder: embeddings, the layers, and the final norm.</summary>
public sealed class Qwen3Model : Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly Embedding embed_tokens;
    public readonly ModuleList<Qwen3DecoderLayer> layers;
    public readonly Qwen3RmsNorm norm;

    private readonly float[] _inverseFrequencies;

    internal Qwen3Model(ModelConfig config, Compute compute) : base(nameof(Qwen3Model))
    {
        embed_tokens = Embedding(config.VocabSize, config.HiddenSize);
        layers = new ModuleList<Qwen3DecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(l => new Qwen3DecoderLayer(config, l, compute)).ToArray());
        norm = new Qwen3RmsNorm(config.HiddenSize, config.RmsNormEps);
        // The engine's float32 frequencies (HF computes them the same way), so both implementations rotate alike.
        _inverseFrequencies = Sdar.Model.Rope.InverseFrequencies(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds, Tensor positionIds, Tensor attentionMask)
    {
        var h = embed_tokens.forward(inputIds);                          // (B, T, H)
        var (cos, sin) = RotaryTables(positionIds);                      // (B, 1, T, hd) each
        // SDPA wants the mask broadcastable to (B, heads, T, T).
        var mask = attentionMask.dim() == 3 ? attentionMask.unsqueeze(1) : attentionMask;
        foreach (var layer in layers) h = layer.forward(h, cos, sin, mask);
        return norm.forward(h);
    }

    /// <summary>cos and sin of position * inv_freq, duplicated over both halves (rotate-half form): (B, 1, T, hd).</summary>
    private (Tensor Cos, Tensor Sin) RotaryTables(Tensor positionIds)
    {
        using var inv = tensor(_inverseFrequencies);                    // (hd/2)
        using var angles = positionIds.to(ScalarType.Float32).unsqueeze(-1) * inv;  // (B, T, hd/2)
        using var both = cat([angles, angles], -1).unsqueeze(1);         // (B, 1, T, hd)
        return (both.cos(), both.sin());
    }
}

/// <summary>One pre-norm block: attention then the (dense or sparse) MLP, each with a residual connection.</summary>
public sealed class Qwen3DecoderLayer : Module<Tensor, Tensor, Tensor, Tensor, Tensor>
{
    public readonly Qwen3RmsNorm input_layernorm;
    public readonly Qwen3Attention self_attn;
    public readonly Qwen3RmsNorm post_attention_layernorm;
    /// <summary>A <see cref="Qwen3Mlp"/>, or a <see cref="Qwen3SparseMoeBlock"/> on MoE layers.</summary>
    public readonly Module<Tensor, Tensor> mlp;

    internal Qwen3DecoderLayer(ModelConfig config, int index, Compute compute) : base(nameof(Qwen3DecoderLayer))
    {
        input_layernorm = new Qwen3RmsNorm(config.HiddenSize, config.RmsNormEps);
        self_attn = new Qwen3Attention(config, compute);
        post_attention_layernorm = new Qwen3RmsNorm(config.HiddenSize, config.RmsNormEps);
        mlp = config.IsMoeLayer(index)
            ? new Qwen3SparseMoeBlock(config, compute)
            : new Qwen3Mlp(config.HiddenSize, config.IntermediateSize, compute);
        RegisterComponents();
    }

    public override Tensor forward(Tensor h, Tensor cos, Tensor sin, Tensor mask)
    {
        h = h + self_attn.forward(input_layernorm.forward(h), cos, sin, mask);
        return h + mlp.forward(post_attention_layernorm.forward(h));
    }
}

/// <summary>Grouped-query attention with per-head q/k RMS norms before RoPE, no biases.</summary>
public sealed class Qwen3Attention : Module<Tensor, Tensor, Tensor, Tensor, Tensor>
{
    public readonly Linear q_proj, k_proj, v_proj, o_proj;
    public readonly Qwen3RmsNorm q_norm, k_norm;

    private readonly int _heads, _kvHeads, _headDim;
    private readonly Compute _compute;

    internal Qwen3Attention(ModelConfig c, Compute compute) : base(nameof(Qwen3Attention))
    {
        (_heads, _kvHeads, _headDim, _compute) = (c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, compute);
        q_proj = Linear(c.HiddenSize, _heads * _headDim, hasBias: false);
        k_proj = Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: false);
        v_proj = Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: false);
        o_proj = Linear(_heads * _headDim, c.HiddenSize, hasBias: false);
        // Only on the head dim: each head's vector is normalised on its own.
        q_norm = new Qwen3RmsNorm(_headDim, c.RmsNormEps);
        k_norm = new Qwen3RmsNorm(_headDim, c.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        long batch = x.shape[0], time = x.shape[1];
        var q = q_norm.forward(_compute.Project(x, q_proj.weight!).view(batch, time, _heads, _headDim)).transpose(1, 2);   // (B, nq, T, hd)
        var k = k_norm.forward(_compute.Project(x, k_proj.weight!).view(batch, time, _kvHeads, _headDim)).transpose(1, 2); // (B, nkv, T, hd)
        var v = _compute.Project(x, v_proj.weight!).view(batch, time, _kvHeads, _headDim).transpose(1, 2);                 // (B, nkv, T, hd)
        q = q * cos + RotateHalf(q) * sin;
        k = k * cos + RotateHalf(k) * sin;
        if (_heads != _kvHeads)
        {
            // Each group of nq / nkv query heads shares one key/value head.
            k = k.repeat_interleave(_heads / _kvHeads, dim: 1);          // (B, nq, T, hd)
            v = v.repeat_interleave(_heads / _kvHeads, dim: 1);
        }
        Tensor attention;
        if (_compute.Precision == ComputePrecision.Bf16)
            attention = F.scaled_dot_product_attention(q.to(ScalarType.BFloat16), k.to(ScalarType.BFloat16), v.to(ScalarType.BFloat16), mask)
                .to(ScalarType.Float32);
        else
            attention = F.scaled_dot_product_attention(q, k, v, mask);  // softmax(q k^T / sqrt(hd) + mask) v
        var merged = attention.transpose(1, 2).reshape(batch, time, _heads * _headDim);                                  // (B, T, nq * hd)
        return _compute.Project(merged, o_proj.weight!);
    }

    /// <summary>(x1, x2) -> (-x2, x1) over the two halves of the head dim.</summary>
    private static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return cat([-halves[1], halves[0]], -1);
    }
}

/// <summary>SwiGLU: down(silu(gate(x)) * up(x)).</summary>
public sealed class Qwen3Mlp : Module<Tensor, Tensor>
{
    public readonly Linear gate_proj, up_proj, down_proj;
    private readonly Compute _compute;

    internal Qwen3Mlp(int hidden, int intermediate, Compute compute) : base(nameof(Qwen3Mlp))
    {
        _compute = compute;
        gate_proj = Linear(hidden, intermediate, hasBias: false);
        up_proj = Linear(hidden, intermediate, hasBias: false);
        down_proj = Linear(intermediate, hidden, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        _compute.Project(F.silu(_compute.Project(x, gate_proj.weight!)) * _compute.Project(x, up_proj.weight!), down_proj.weight!);
}

/// <summary>
/// Qwen3-MoE sparse block: a softmax router (<c>gate</c>) over <c>experts</c>, the top-k per token, optionally
/// renormalised, and the weighted sum of those experts' SwiGLU outputs.
/// </summary>
public sealed class Qwen3SparseMoeBlock : Module<Tensor, Tensor>
{
    public readonly Linear gate;
    public readonly ModuleList<Qwen3Mlp> experts;

    private readonly int _topK;
    private readonly bool _normalizeTopK;
    private readonly Compute _compute;

    internal Qwen3SparseMoeBlock(ModelConfig c, Compute compute) : base(nameof(Qwen3SparseMoeBlock))
    {
        (_topK, _normalizeTopK, _compute) = (c.NumExpertsPerTok, c.NormTopkProb, compute);
        gate = Linear(c.HiddenSize, c.NumExperts, hasBias: false);
        experts = new ModuleList<Qwen3Mlp>(
            Enumerable.Range(0, c.NumExperts).Select(_ => new Qwen3Mlp(c.HiddenSize, c.MoeIntermediateSize, compute)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        var tokens = x.reshape(-1, shape[^1]);                                             // (N, H)
        var probabilities = F.softmax(_compute.Project(tokens, gate.weight!), -1);            // (N, E), float32
        var (weights, chosen) = probabilities.topk(_topK, dim: -1);                         // (N, k)
        if (_normalizeTopK) weights = weights / weights.sum(-1, keepdim: true);
        var output = zeros_like(tokens);
        for (int e = 0; e < experts.Count; e++)
        {
            // The (token, slot) pairs routed to expert e.
            var hits = (chosen == e).nonzero();                                             // (n_e, 2)
            if (hits.shape[0] == 0) continue;
            var tokenIndex = hits.select(1, 0);
            var slotWeight = weights.reshape(-1).index_select(0, tokenIndex * _topK + hits.select(1, 1)).unsqueeze(-1);  // (n_e, 1)
            var expertOut = experts[e].forward(tokens.index_select(0, tokenIndex)) * slotWeight;
            output = output.index_add(0, tokenIndex, expertOut, 1);
        }
        return output.reshape(shape);
    }
}

/// <summary>RMS norm computed in float32: x / sqrt(mean(x^2) + eps) * weight.</summary>
public sealed class Qwen3RmsNorm : Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    // Held for the module's lifetime: a Scalar made implicitly per call may be finalized while libtorch reads it.
    private readonly Scalar _eps;

    internal Qwen3RmsNorm(int size, double eps) : base(nameof(Qwen3RmsNorm))
    {
        weight = new Parameter(ones(size));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var variance = x.square().mean([-1], keepdim: true);   // square, not pow(2): no Scalar to outlive
        return x * (variance + _eps).rsqrt() * weight;
    }
}
