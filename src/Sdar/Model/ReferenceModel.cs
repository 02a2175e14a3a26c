using Sdar.Config;

namespace Sdar.Model;

/// <summary>
/// The plain implementation of the Qwen3 / SDAR decoder (DESIGN section 2): one sequence and one token row at a time,
/// scalar loops, double-precision accumulation. It is the specification the fast engine is tested against,
/// not something to serve with.
/// </summary>
public sealed class ReferenceModel : ILanguageModel
{
    private readonly ModelWeights _w;
    private readonly float[] _invFrequency;

    public ReferenceModel(ModelWeights weights)
    {
        _w = weights;
        _invFrequency = Rope.InverseFrequencies(weights.Config);
    }

    public ModelConfig Config => _w.Config;

    public float[][] Forward(IReadOnlyList<SequenceInput> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var results = new float[batch.Count][];
        for (int s = 0; s < batch.Count; s++)
        {
            batch[s].Validate(s);
            results[s] = ForwardOne(batch[s], batch[s].Attention, batch[s].BlockLength);
        }
        return results;
    }

    private float[] ForwardOne(SequenceInput input, AttentionKind attention, int blockLength)
    {
        var c = Config;
        int T = input.Tokens.Length, H = c.HiddenSize, hd = c.HeadDim, nq = c.NumAttentionHeads, nkv = c.NumKeyValueHeads;
        int start = input.Cache.Length;
        var cache = input.Cache;

        // h: (T, H)
        var h = new float[T][];
        for (int t = 0; t < T; t++)
        {
            int id = input.Tokens[t];
            if ((uint)id >= (uint)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(input), $"token id {id} is outside the vocabulary (0..{c.VocabSize - 1})");
            h[t] = new float[H];
            _w.EmbedTokens.ReadRow(id, h[t]);
        }

        // The new positions' keys and values, per layer: (T, nkv, hd). Appended to the cache at the end when StoreKv.
        var newKeys = new float[c.NumHiddenLayers][][];
        var newValues = new float[c.NumHiddenLayers][][];

        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            var layer = _w.Layers[l];
            var inputNorm = layer.InputLayernorm.ToFloatArray();
            var qNorm = layer.QNorm.ToFloatArray();
            var kNorm = layer.KNorm.ToFloatArray();
            newKeys[l] = new float[T][];
            newValues[l] = new float[T][];
            var queries = new float[T][];
            for (int t = 0; t < T; t++)
            {
                var a = RmsNorm(h[t], inputNorm, c.RmsNormEps);
                var q = MatVec(layer.QProj, a);   // (nq * hd)
                var k = MatVec(layer.KProj, a);   // (nkv * hd)
                var v = MatVec(layer.VProj, a);
                // q_norm / k_norm act on each head's vector (only on the head dim), before RoPE.
                for (int head = 0; head < nq; head++) NormalizeHead(q, head * hd, hd, qNorm, c.RmsNormEps);
                for (int head = 0; head < nkv; head++) NormalizeHead(k, head * hd, hd, kNorm, c.RmsNormEps);
                int position = start + t;
                for (int head = 0; head < nq; head++) Rope.Apply(q.AsSpan(head * hd, hd), position, _invFrequency);
                for (int head = 0; head < nkv; head++) Rope.Apply(k.AsSpan(head * hd, hd), position, _invFrequency);
                queries[t] = q;
                newKeys[l][t] = k;
                newValues[l][t] = v;
            }

            // Attention: query t (position start+t) sees every cached key, and new key u when the mask allows it.
            int group = nq / nkv;
            double scale = 1.0 / Math.Sqrt(hd);
            for (int t = 0; t < T; t++)
            {
                var attnOut = new float[nq * hd];
                int qPos = start + t;
                for (int head = 0; head < nq; head++)
                {
                    int kvHead = head / group;
                    var cachedK = new float[start * hd];
                    var cachedV = new float[start * hd];
                    cache.Read(l, kvHead, start, cachedK, cachedV);
                    var scores = new List<double>(start + T);
                    var valueRows = new List<float[]>(start + T);
                    for (int j = 0; j < start; j++)
                    {
                        scores.Add(Dot(queries[t], head * hd, cachedK.AsSpan(j * hd, hd)) * scale);
                        valueRows.Add(cachedV.AsSpan(j * hd, hd).ToArray());
                    }
                    for (int u = 0; u < T; u++)
                    {
                        if (!Masks.Visible(attention, blockLength, qPos, start + u)) continue;
                        scores.Add(Dot(queries[t], head * hd, newKeys[l][u].AsSpan(kvHead * hd, hd)) * scale);
                        valueRows.Add(newValues[l][u].AsSpan(kvHead * hd, hd).ToArray());
                    }
                    double max = scores.Max();
                    double sum = 0;
                    for (int j = 0; j < scores.Count; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < hd; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < scores.Count; j++) acc += scores[j] / sum * valueRows[j][d];
                        attnOut[head * hd + d] = (float)acc;
                    }
                }
                var projected = MatVec(layer.OProj, attnOut);
                for (int i = 0; i < H; i++) h[t][i] += projected[i];
            }

            var postNorm = layer.PostAttentionLayernorm.ToFloatArray();
            for (int t = 0; t < T; t++)
            {
                var n = RmsNorm(h[t], postNorm, c.RmsNormEps);
                var mlpOut = layer.Moe is { } moe ? MoeForward(moe, n) : MlpForward(layer.Mlp!, n);
                for (int i = 0; i < H; i++) h[t][i] += mlpOut[i];
            }
        }

        int stored = input.StoredCount;
        if (stored > 0)
        {
            cache.Reserve(stored);
            for (int l = 0; l < c.NumHiddenLayers; l++)
                for (int t = 0; t < stored; t++)
                    for (int head = 0; head < nkv; head++)
                        cache.Write(l, head, start + t, newKeys[l][t].AsSpan(head * hd, hd), newValues[l][t].AsSpan(head * hd, hd));
            cache.Advance(stored);
        }

        int firstRow = input.FirstLogitRow;
        var finalNorm = _w.Norm.ToFloatArray();
        var logits = new float[(T - firstRow) * c.VocabSize];
        for (int t = firstRow; t < T; t++)
        {
            var row = MatVec(_w.LmHead, RmsNorm(h[t], finalNorm, c.RmsNormEps));
            row.CopyTo(logits, (t - firstRow) * c.VocabSize);
        }
        return logits;
    }

    private static float[] MlpForward(DenseMlpWeights mlp, float[] x)
    {
        var gate = MatVec(mlp.GateProj, x);
        var up = MatVec(mlp.UpProj, x);
        for (int i = 0; i < gate.Length; i++) gate[i] = Silu(gate[i]) * up[i];
        return MatVec(mlp.DownProj, gate);
    }

    /// <summary>Qwen3-MoE: softmax router, top-k experts, optional renormalisation of the k weights.</summary>
    private float[] MoeForward(MoeWeights moe, float[] x)
    {
        var routerLogits = MatVec(moe.Router, x);
        var probabilities = Softmax(routerLogits);
        int k = Config.NumExpertsPerTok;
        // Top-k by probability; ties go to the lower expert index, like a stable sort.
        var chosen = Enumerable.Range(0, probabilities.Length).OrderByDescending(e => probabilities[e]).ThenBy(e => e).Take(k).ToArray();
        double weightSum = chosen.Sum(e => (double)probabilities[e]);
        var result = new float[x.Length];
        foreach (int e in chosen)
        {
            double weight = Config.NormTopkProb ? probabilities[e] / weightSum : probabilities[e];
            var expertOut = MlpForward(moe.Experts[e], x);
            for (int i = 0; i < result.Length; i++) result[i] += (float)(weight * expertOut[i]);
        }
        return result;
    }

    internal static float[] Softmax(float[] logits)
    {
        double max = logits.Max();
        var exp = logits.Select(v => Math.Exp(v - max)).ToArray();
        double sum = exp.Sum();
        return exp.Select(v => (float)(v / sum)).ToArray();
    }

    private static float Silu(float x) => (float)(x / (1.0 + Math.Exp(-x)));

    /// <summary>y = W x for a (out, in) weight.</summary>
    private static float[] MatVec(WeightTensor w, float[] x)
    {
        var y = new float[w.Rows];
        var row = new float[w.Columns];
        for (int o = 0; o < w.Rows; o++)
        {
            w.ReadRow(o, row);
            double acc = 0;
            for (int i = 0; i < row.Length; i++) acc += (double)row[i] * x[i];
            y[o] = (float)acc;
        }
        return y;
    }

    private static double Dot(float[] q, int offset, ReadOnlySpan<float> k)
    {
        double acc = 0;
        for (int d = 0; d < k.Length; d++) acc += (double)q[offset + d] * k[d];
        return acc;
    }

    private static float[] RmsNorm(float[] x, float[] weight, double eps)
    {
        double meanSquare = 0;
        foreach (float v in x) meanSquare += (double)v * v;
        meanSquare /= x.Length;
        double inv = 1.0 / Math.Sqrt(meanSquare + eps);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] * inv) * weight[i];
        return y;
    }

    private static void NormalizeHead(float[] x, int offset, int length, float[] weight, double eps)
    {
        double meanSquare = 0;
        for (int i = 0; i < length; i++) meanSquare += (double)x[offset + i] * x[offset + i];
        meanSquare /= length;
        double inv = 1.0 / Math.Sqrt(meanSquare + eps);
        for (int i = 0; i < length; i++) x[offset + i] = (float)(x[offset + i] * inv) * weight[i];
    }
}
