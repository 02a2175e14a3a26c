namespace Sdar.Config;

/// <summary>
/// Sizes derived from a config, in checked 64-bit arithmetic (an overflow is an <see cref="OverflowException"/>,
/// never a wrapped number): parameters, the largest matrices, and the memory a generation needs besides the
/// memory-mapped weights (the float32 KV cache and one forward's activations), so a request can be refused before
/// anything is allocated.
/// </summary>
public static class ModelMemory
{
    /// <summary>Every weight of the model (the tied head counted once).</summary>
    public static long ParameterCount(ModelConfig c)
    {
        checked
        {
            long h = c.HiddenSize, hd = c.HeadDim;
            long attention = h * c.NumAttentionHeads * hd * 2 + h * c.NumKeyValueHeads * hd * 2 + 2 * hd + 2 * h;
            long dense = 3 * h * c.IntermediateSize;
            long moe = c.NumExperts * 3 * h * c.MoeIntermediateSize + c.NumExperts * h;
            long layers = 0;
            for (int l = 0; l < c.NumHiddenLayers; l++) layers += attention + (c.IsMoeLayer(l) ? moe : dense);
            long embeddings = (long)c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2);
            return layers + embeddings + h;
        }
    }

    /// <summary>The matrices whose element counts could overflow: embeddings, projections, MLPs.</summary>
    public static IEnumerable<(string Name, long Rows, long Columns)> LargestMatrices(ModelConfig c)
    {
        yield return ("model.embed_tokens.weight", c.VocabSize, c.HiddenSize);
        yield return ("model.layers.0.self_attn.q_proj.weight", (long)c.NumAttentionHeads * c.HeadDim, c.HiddenSize);
        yield return ("model.layers.0.mlp.gate_proj.weight", c.IntermediateSize, c.HiddenSize);
        if (c.IsMoe) yield return ("model.layers.0.mlp.experts.0.gate_proj.weight", c.MoeIntermediateSize, c.HiddenSize);
    }

    /// <summary>Bytes of float32 keys and values one cached position takes over all layers.</summary>
    public static long KvCacheBytesPerPosition(ModelConfig c) =>
        checked(2L * c.NumHiddenLayers * c.NumKeyValueHeads * c.HeadDim * sizeof(float));

    /// <summary>
    /// What one sequence of <paramref name="contextLength"/> positions needs at most, besides the weights: its KV
    /// cache (grown by doubling, so up to twice the context while growing), the activations of its largest forward
    /// (the prompt prefill of <paramref name="prefillTokens"/> rows: hidden states, projections, MLP, attention
    /// scores of each concurrently running KV-head task), and the logits of <paramref name="logitRows"/> rows.
    /// </summary>
    public static long GenerationBytes(ModelConfig c, long contextLength, long prefillTokens, long logitRows, int concurrentTasks)
    {
        checked
        {
            long kv = 2 * KvCacheBytesPerPosition(c) * contextLength;
            long rows = Math.Max(1, prefillTokens);
            long width = Math.Max(c.HiddenSize, (long)c.NumAttentionHeads * c.HeadDim);
            long inter = Math.Max(c.IntermediateSize, c.IsMoe ? (long)c.MoeIntermediateSize * c.NumExpertsPerTok : 0);
            long activations = rows * (6 * width + 2 * inter) * sizeof(float);
            long group = c.NumAttentionHeads / c.NumKeyValueHeads;
            long scores = Math.Max(1, concurrentTasks) * group * rows * contextLength * sizeof(float);
            long logits = Math.Max(1, logitRows) * c.VocabSize * sizeof(float);
            return kv + activations + scores + logits;
        }
    }

    /// <summary>The memory this process may use: the GC's view of the machine (or container) limit.</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
