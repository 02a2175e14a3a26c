using Sdar.Model;

namespace Sdar.Bench;

/// <summary>FLOPs of a forward (2 per multiply-add), the numerator of every GFLOP/s this project reports.</summary>
public static class ForwardCost
{
    /// <summary>
    /// <paramref name="tokens"/> new tokens against <paramref name="cacheLength"/> cached ones, with
    /// <paramref name="logitRows"/> rows through the LM head: every Linear once per token (MoE: the router and the
    /// top-k experts), scores and weighted values of each query head over the cache and the new tokens.
    /// </summary>
    public static double Flops(ModelWeights weights, int tokens, int cacheLength, int logitRows)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        double perToken = 0;
        foreach (var layer in weights.Layers)
        {
            perToken += layer.QProj.ElementCount + layer.KProj.ElementCount + layer.VProj.ElementCount + layer.OProj.ElementCount;
            if (layer.Mlp is { } mlp) perToken += mlp.GateProj.ElementCount + mlp.UpProj.ElementCount + mlp.DownProj.ElementCount;
            if (layer.Moe is { } moe)
            {
                var expert = moe.Experts[0];
                perToken += moe.Router.ElementCount + (double)(expert.GateProj.ElementCount + expert.UpProj.ElementCount + expert.DownProj.ElementCount) * c.NumExpertsPerTok;
            }
        }
        double attention = 2.0 * 2.0 * tokens * (cacheLength + (double)tokens) * c.NumAttentionHeads * c.HeadDim * c.NumHiddenLayers;
        return 2.0 * tokens * perToken + attention + 2.0 * logitRows * weights.LmHead.ElementCount;
    }
}
