using System.Buffers;
using Sdar.Config;
using Sdar.Model.Kernels;

namespace Sdar.Model;

/// <summary>
/// The fast implementation of the decoder: all new tokens of all sequences of a forward go through each Linear as one
/// matrix (SIMD, multithreaded, weights in their stored precision), attention runs per (sequence, KV head) in parallel.
/// Tested against <see cref="ReferenceModel"/>. Batch-invariant: per-row arithmetic never depends on the other rows.
/// </summary>
public sealed class FastModel : ILanguageModel, INumericalDiagnostics
{
    private readonly ModelWeights _w;
    private readonly float[] _invFrequency;
    private readonly float[][] _inputNorms, _postNorms, _qNorms, _kNorms;
    private readonly float[] _finalNorm;

    public FastModel(ModelWeights weights)
    {
        _w = weights;
        _invFrequency = Rope.InverseFrequencies(weights.Config);
        _inputNorms = weights.Layers.Select(l => l.InputLayernorm.ToFloatArray()).ToArray();
        _postNorms = weights.Layers.Select(l => l.PostAttentionLayernorm.ToFloatArray()).ToArray();
        _qNorms = weights.Layers.Select(l => l.QNorm.ToFloatArray()).ToArray();
        _kNorms = weights.Layers.Select(l => l.KNorm.ToFloatArray()).ToArray();
        _finalNorm = weights.Norm.ToFloatArray();
    }

    public ModelConfig Config => _w.Config;

    public float[][] Forward(IReadOnlyList<SequenceInput> batch, AttentionKind attention, int blockLength) =>
        Run(batch, attention, blockLength, probe: null);

    /// <summary>
    /// The diagnostic path: the same forward, checking the hidden states after the embedding and after every
    /// attention and MLP block, then the final norm and the logits, and stopping at the first non-finite value.
    /// </summary>
    public NumericalFault? LocateNonFinite(SequenceInput input, AttentionKind attention, int blockLength)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.StoreKv) throw new ArgumentException("the diagnostic forward must not store K/V", nameof(input));
        var probe = new NonFiniteProbe(input.Cache.Length);
        var logits = Run([input], attention, blockLength, probe);
        if (probe.Fault is null && logits.Length == 1)
            probe.Check("lm_head", "logits", logits[0], Config.VocabSize, FirstLogitRow(input));
        return probe.Fault;
    }

    /// <summary>Finds the first non-finite row of a stage; after the first fault the forward stops.</summary>
    private sealed class NonFiniteProbe(int firstPosition)
    {
        public NumericalFault? Fault { get; private set; }

        /// <param name="firstRow">The token row (within the input) of the first row of <paramref name="rows"/>.</param>
        public bool Check(string module, string stage, ReadOnlySpan<float> rows, int width, int firstRow = 0)
        {
            if (Fault is not null) return true;
            int index = NonFinite.IndexOf(rows);
            if (index >= 0) Fault = new NumericalFault(module, stage, firstPosition + firstRow + index / width, rows[index]);
            return Fault is not null;
        }
    }

    private static int FirstLogitRow(SequenceInput input) => input.Logits == LogitsKind.Last ? input.Tokens.Length - 1 : 0;

    private float[][] Run(IReadOnlyList<SequenceInput> batch, AttentionKind attention, int blockLength, NonFiniteProbe? probe)
    {
        var c = Config;
        if (attention == AttentionKind.BlockCausal && blockLength < 1) throw new ArgumentOutOfRangeException(nameof(blockLength), "block length must be at least 1");
        int H = c.HiddenSize, hd = c.HeadDim, nq = c.NumAttentionHeads, nkv = c.NumKeyValueHeads;
        int qWidth = nq * hd, kvWidth = nkv * hd;

        // Row offsets of each sequence in the stacked (R, ...) activations.
        var rowStart = new int[batch.Count + 1];
        for (int s = 0; s < batch.Count; s++)
        {
            if (batch[s].Tokens.Length == 0) throw new ArgumentException($"sequence {s} of the batch has no tokens", nameof(batch));
            rowStart[s + 1] = rowStart[s] + batch[s].Tokens.Length;
            for (int t = 0; t < s; t++)
                if (ReferenceEquals(batch[t].Cache, batch[s].Cache)) throw new ArgumentException("two sequences of one batch share a KV cache", nameof(batch));
        }
        int R = rowStart[^1];

        var h = new float[R * H];
        for (int s = 0; s < batch.Count; s++)
        {
            var tokens = batch[s].Tokens;
            for (int t = 0; t < tokens.Length; t++)
            {
                int id = tokens[t];
                if ((uint)id >= (uint)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {id} is outside the vocabulary (0..{c.VocabSize - 1})");
                _w.EmbedTokens.ReadRow(id, h.AsSpan((rowStart[s] + t) * H, H));
            }
            // New keys and values are written just past the cached ones; they only count as cached after Advance.
            batch[s].Cache.Reserve(tokens.Length);
        }

        var normed = new float[R * H];
        var q = new float[R * qWidth];
        var k = new float[R * kvWidth];
        var v = new float[R * kvWidth];
        var attnOut = new float[R * qWidth];
        var projected = new float[R * H];
        float eps = (float)c.RmsNormEps;
        Span<float> cos = stackalloc float[hd / 2];
        Span<float> sin = stackalloc float[hd / 2];
        if (probe?.Check("model.embed_tokens", "embedding output", h, H) == true) return [];

        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            var layer = _w.Layers[l];
            for (int r = 0; r < R; r++) VectorMath.RmsNorm(h.AsSpan(r * H, H), _inputNorms[l], normed.AsSpan(r * H, H), eps);
            MatMul.Compute(normed, R, (layer.QProj, q), (layer.KProj, k), (layer.VProj, v));

            for (int s = 0; s < batch.Count; s++)
            {
                var cache = batch[s].Cache;
                for (int t = 0; t < batch[s].Tokens.Length; t++)
                {
                    int r = rowStart[s] + t, position = cache.Length + t;
                    Rope.Table(position, _invFrequency, cos, sin);
                    for (int head = 0; head < nq; head++)
                    {
                        var qh = q.AsSpan(r * qWidth + head * hd, hd);
                        VectorMath.RmsNorm(qh, _qNorms[l], qh, eps);
                        RotateHalf(qh, cos, sin);
                    }
                    for (int head = 0; head < nkv; head++)
                    {
                        var kh = k.AsSpan(r * kvWidth + head * hd, hd);
                        VectorMath.RmsNorm(kh, _kNorms[l], kh, eps);
                        RotateHalf(kh, cos, sin);
                        kh.CopyTo(cache.Keys(l, head).Slice(position * hd, hd));
                        v.AsSpan(r * kvWidth + head * hd, hd).CopyTo(cache.Values(l, head).Slice(position * hd, hd));
                    }
                }
            }

            int tasks = batch.Count * nkv;
            WorkerPool.For(tasks, MatMul.Threads, task =>
            {
                int s = task / nkv, kvHead = task % nkv;
                Attend(l, batch[s], rowStart[s], kvHead, q, attnOut, attention, blockLength);
            });

            MatMul.Compute(layer.OProj, attnOut, R, projected);
            VectorMath.Add(h, projected);
            if (probe?.Check($"model.layers.{l}", "self_attn output", h, H) == true) return [];

            for (int r = 0; r < R; r++) VectorMath.RmsNorm(h.AsSpan(r * H, H), _postNorms[l], normed.AsSpan(r * H, H), eps);
            if (layer.Moe is { } moe) MoeForward(moe, normed, R, projected);
            else MlpForward(layer.Mlp!, normed, R, projected);
            VectorMath.Add(h, projected);
            if (probe?.Check($"model.layers.{l}", "mlp output", h, H) == true) return [];
        }

        foreach (var input in batch)
            if (input.StoreKv) input.Cache.Advance(input.Tokens.Length);

        return Logits(batch, rowStart, h, probe);
    }

    private float[][] Logits(IReadOnlyList<SequenceInput> batch, int[] rowStart, float[] h, NonFiniteProbe? probe)
    {
        var c = Config;
        int H = c.HiddenSize, V = c.VocabSize;
        // Gather the rows that need logits, so the (large) LM head runs once over all of them.
        var wanted = new List<int>();
        var firstWanted = new int[batch.Count + 1];
        for (int s = 0; s < batch.Count; s++)
        {
            firstWanted[s] = wanted.Count;
            int T = batch[s].Tokens.Length;
            switch (batch[s].Logits)
            {
                case LogitsKind.All: for (int t = 0; t < T; t++) wanted.Add(rowStart[s] + t); break;
                case LogitsKind.Last: wanted.Add(rowStart[s] + T - 1); break;
            }
        }
        firstWanted[batch.Count] = wanted.Count;
        var results = new float[batch.Count][];
        if (wanted.Count == 0)
        {
            for (int s = 0; s < batch.Count; s++) results[s] = [];
            return results;
        }
        var normed = new float[wanted.Count * H];
        for (int i = 0; i < wanted.Count; i++)
            VectorMath.RmsNorm(h.AsSpan(wanted[i] * H, H), _finalNorm, normed.AsSpan(i * H, H), (float)c.RmsNormEps);
        // Rows of the final norm are the wanted rows only, so a fault here is reported at the first wanted row.
        // The probe runs one sequence, so the wanted rows are its rows from FirstLogitRow on.
        if (probe?.Check("model.norm", "final norm output", normed, H, FirstLogitRow(batch[0])) == true) return [];
        var all = new float[(long)wanted.Count * V];
        MatMul.Compute(_w.LmHead, normed, wanted.Count, all);
        if (batch.Count == 1)
        {
            results[0] = all;
            return results;
        }
        for (int s = 0; s < batch.Count; s++)
            results[s] = all.AsSpan(firstWanted[s] * V, (firstWanted[s + 1] - firstWanted[s]) * V).ToArray();
        return results;
    }

    /// <summary>
    /// Attention of one sequence's queries for the query heads sharing KV head <paramref name="kvHead"/>.
    /// Every query sees a prefix of the keys (cached ones, then new ones up to its own position or block end),
    /// so scores are one small matmul and each row is softmaxed over its own prefix.
    /// </summary>
    private unsafe void Attend(int layer, SequenceInput input, int firstRow, int kvHead, float[] q, float[] attnOut,
        AttentionKind attention, int blockLength)
    {
        var c = Config;
        int hd = c.HeadDim, nq = c.NumAttentionHeads, group = nq / c.NumKeyValueHeads, qWidth = nq * hd;
        int T = input.Tokens.Length, start = input.Cache.Length, keyCount = start + T;
        int queries = group * T;
        var keys = input.Cache.Keys(layer, kvHead)[..(keyCount * hd)];
        var values = input.Cache.Values(layer, kvHead)[..(keyCount * hd)];

        var queryRows = ArrayPool<float>.Shared.Rent(queries * hd);
        var scores = ArrayPool<float>.Shared.Rent(queries * keyCount);
        try
        {
            // (group * T, hd): query row i = (head offset g, token t) as g * T + t
            for (int g = 0; g < group; g++)
                for (int t = 0; t < T; t++)
                    q.AsSpan((firstRow + t) * qWidth + (kvHead * group + g) * hd, hd).CopyTo(queryRows.AsSpan((g * T + t) * hd, hd));
            MatMul.ComputeF32(keys, keyCount, queryRows.AsSpan(0, queries * hd), queries, hd, scores.AsSpan(0, queries * keyCount));

            float scale = 1f / MathF.Sqrt(hd);
            var visible = new int[queries];
            for (int i = 0; i < queries; i++)
            {
                int t = i % T;
                visible[i] = Math.Min(keyCount, Masks.LastVisibleKey(attention, blockLength, start + t) + 1);
                var row = scores.AsSpan(i * keyCount, keyCount);
                VectorMath.ScaledSoftmax(row[..visible[i]], scale);
                row[visible[i]..].Clear();   // keys a query may not see weigh nothing
            }

            var weighted = ArrayPool<float>.Shared.Rent(queries * hd);
            try
            {
                fixed (float* p = scores)
                fixed (int* visiblePtr = visible)
                fixed (float* v = values)
                fixed (float* o = weighted)
                    WeightedValues.Compute(p, queries, keyCount, visiblePtr, v, hd, o, hd);
                for (int i = 0; i < queries; i++)
                {
                    int g = i / T, t = i % T;
                    weighted.AsSpan(i * hd, hd).CopyTo(attnOut.AsSpan((firstRow + t) * qWidth + (kvHead * group + g) * hd, hd));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(weighted);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(queryRows);
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    private static void RotateHalf(Span<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = cos.Length;
        for (int i = 0; i < half; i++)
        {
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }

    private static void MlpForward(DenseMlpWeights mlp, float[] x, int rows, Span<float> output)
    {
        int inter = mlp.GateProj.Rows;
        var gate = new float[rows * inter];
        var up = new float[rows * inter];
        MatMul.Compute(x, rows, (mlp.GateProj, gate), (mlp.UpProj, up));
        VectorMath.SwiGlu(gate, up);
        MatMul.Compute(mlp.DownProj, gate, rows, output);
    }

    /// <summary>
    /// Qwen3-MoE: each row's router picks its top-k experts; rows are grouped by expert so every expert runs once
    /// over its rows. Contributions are added per row in expert-index order, whatever the batch (batch invariance).
    /// </summary>
    private void MoeForward(MoeWeights moe, float[] x, int rows, Span<float> output)
    {
        var c = Config;
        int H = c.HiddenSize, E = c.NumExperts, topK = c.NumExpertsPerTok;
        var routerLogits = new float[rows * E];
        MatMul.Compute(moe.Router, x, rows, routerLogits);
        var rowsOfExpert = new List<(int Row, float Weight)>[E];
        for (int e = 0; e < E; e++) rowsOfExpert[e] = [];
        var order = new int[E];
        for (int r = 0; r < rows; r++)
        {
            var probabilities = routerLogits.AsSpan(r * E, E);
            VectorMath.ScaledSoftmax(probabilities, 1f);
            for (int e = 0; e < E; e++) order[e] = e;
            var probs = probabilities.ToArray();
            // Highest probability first; ties to the lower expert index (stable sort).
            Array.Sort(order, (a, b) => probs[a] != probs[b] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b));
            float sum = 0;
            for (int i = 0; i < topK; i++) sum += probs[order[i]];
            for (int i = 0; i < topK; i++)
            {
                int e = order[i];
                rowsOfExpert[e].Add((r, c.NormTopkProb ? probs[e] / sum : probs[e]));
            }
        }

        output[..(rows * H)].Clear();
        var expertOut = new float[rows * H];
        for (int e = 0; e < E; e++)
        {
            var assigned = rowsOfExpert[e];
            if (assigned.Count == 0) continue;
            var gathered = new float[assigned.Count * H];
            for (int i = 0; i < assigned.Count; i++) x.AsSpan(assigned[i].Row * H, H).CopyTo(gathered.AsSpan(i * H, H));
            MlpForward(moe.Experts[e], gathered, assigned.Count, expertOut);
            for (int i = 0; i < assigned.Count; i++)
                VectorMath.Axpy(assigned[i].Weight, expertOut.AsSpan(i * H, H), output.Slice(assigned[i].Row * H, H));
        }
    }
}
