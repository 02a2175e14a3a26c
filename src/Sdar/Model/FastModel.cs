using System.Buffers;
using System.Runtime.Intrinsics;
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
    private readonly KernelSettings _kernels;

    /// <param name="kernels">Threads and vector width of this model's kernels; default <see cref="KernelSettings.Default"/>.</param>
    public FastModel(ModelWeights weights, KernelSettings? kernels = null)
    {
        _w = weights;
        _kernels = kernels ?? KernelSettings.Default;
        _invFrequency = Rope.InverseFrequencies(weights.Config);
        _inputNorms = weights.Layers.Select(l => l.InputLayernorm.ToFloatArray()).ToArray();
        _postNorms = weights.Layers.Select(l => l.PostAttentionLayernorm.ToFloatArray()).ToArray();
        _qNorms = weights.Layers.Select(l => l.QNorm.ToFloatArray()).ToArray();
        _kNorms = weights.Layers.Select(l => l.KNorm.ToFloatArray()).ToArray();
        _finalNorm = weights.Norm.ToFloatArray();
    }

    public ModelConfig Config => _w.Config;

    /// <summary>The settings this model's kernels run with.</summary>
    public KernelSettings Kernels => _kernels;

    public float[][] Forward(IReadOnlyList<SequenceInput> batch) => Run(batch, probe: null);

    /// <summary>
    /// The diagnostic path: the same forward, checking the hidden states after the embedding and after every
    /// attention and MLP block, then the final norm and the logits, and stopping at the first non-finite value.
    /// </summary>
    public NumericalFault? LocateNonFinite(SequenceInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.StoreKv) throw new ArgumentException("the diagnostic forward must not store K/V", nameof(input));
        var probe = new NonFiniteProbe(input.Cache.Length);
        var logits = Run([input], probe);
        if (probe.Fault is null && logits.Length == 1)
            probe.Check("lm_head", "logits", logits[0], Config.VocabSize, input.FirstLogitRow);
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

    /// <summary>
    /// The activations of one forward, kept between forwards so that steady decoding allocates nothing large.
    /// The model stays stateless to its callers: each forward rents a workspace and returns it.
    /// </summary>
    private sealed class Workspace
    {
        private float[] _h = [], _normed = [], _q = [], _k = [], _v = [], _attnOut = [], _projected = [], _gate = [], _up = [];
        private float[] _cos = [], _sin = [];

        private static float[] Sized(ref float[] buffer, long length)
        {
            if (buffer.Length < length) buffer = new float[Math.Max(length, buffer.Length * 3L / 2)];
            return buffer;
        }

        public float[] H(long n) => Sized(ref _h, n);
        public float[] Normed(long n) => Sized(ref _normed, n);
        public float[] Q(long n) => Sized(ref _q, n);
        public float[] K(long n) => Sized(ref _k, n);
        public float[] V(long n) => Sized(ref _v, n);
        public float[] AttnOut(long n) => Sized(ref _attnOut, n);
        public float[] Projected(long n) => Sized(ref _projected, n);
        public float[] Gate(long n) => Sized(ref _gate, n);
        public float[] Up(long n) => Sized(ref _up, n);
        public float[] Cos(long n) => Sized(ref _cos, n);
        public float[] Sin(long n) => Sized(ref _sin, n);
    }

    private readonly System.Collections.Concurrent.ConcurrentBag<Workspace> _workspaces = [];

    private float[][] Run(IReadOnlyList<SequenceInput> batch, NonFiniteProbe? probe)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_workspaces.TryTake(out var workspace)) workspace = new Workspace();
        try
        {
            return Run(batch, probe, workspace);
        }
        finally
        {
            _workspaces.Add(workspace);
        }
    }

    private float[][] Run(IReadOnlyList<SequenceInput> batch, NonFiniteProbe? probe, Workspace workspace)
    {
        var c = Config;
        int H = c.HiddenSize, hd = c.HeadDim, nq = c.NumAttentionHeads, nkv = c.NumKeyValueHeads;
        int qWidth = nq * hd, kvWidth = nkv * hd;

        // Row offsets of each sequence in the stacked (R, ...) activations.
        var rowStart = new int[batch.Count + 1];
        for (int s = 0; s < batch.Count; s++)
        {
            batch[s].Validate(s);
            rowStart[s + 1] = rowStart[s] + batch[s].Tokens.Length;
            for (int t = 0; t < s; t++)
                if (ReferenceEquals(batch[t].Cache, batch[s].Cache)) throw new ArgumentException("two sequences of one batch share a KV cache", nameof(batch));
        }
        int R = rowStart[^1];

        var h = workspace.H((long)R * H);
        for (int s = 0; s < batch.Count; s++)
        {
            var tokens = batch[s].Tokens;
            for (int t = 0; t < tokens.Length; t++)
            {
                int id = tokens[t];
                if ((uint)id >= (uint)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {id} is outside the vocabulary (0..{c.VocabSize - 1})");
                _w.EmbedTokens.ReadRow(id, h.AsSpan((rowStart[s] + t) * H, H));
            }
            // Stored keys and values are written just past the cached ones; they only count as cached after Advance.
            batch[s].Cache.Reserve(batch[s].StoredCount);
        }

        var normed = workspace.Normed((long)R * H);
        var q = workspace.Q((long)R * qWidth);
        var k = workspace.K((long)R * kvWidth);
        var v = workspace.V((long)R * kvWidth);
        var attnOut = workspace.AttnOut((long)R * qWidth);
        var projected = workspace.Projected((long)R * H);
        float eps = (float)c.RmsNormEps;
        // RoPE tables per row, once per forward rather than once per layer (the sines and cosines were ~5 % of a
        // forward of sdar-mini): (R, hd / 2) each.
        int half = hd / 2;
        var cos = workspace.Cos((long)R * half);
        var sin = workspace.Sin((long)R * half);
        for (int s = 0; s < batch.Count; s++)
            for (int t = 0; t < batch[s].Tokens.Length; t++)
            {
                int r = rowStart[s] + t;
                Rope.Table(batch[s].Cache.Length + t, _invFrequency, cos.AsSpan(r * half, half), sin.AsSpan(r * half, half));
            }
        if (probe?.Check("model.embed_tokens", "embedding output", h.AsSpan(0, R * H), H) == true) return [];

        // Whether the previous layer's MLP already wrote this layer's input norm into `normed`, row by row on the
        // workers that computed its output (see MatMul.Compute with a RowsDone).
        bool inputNormed = false;
        // h += projected on whole rows, then, if given, `norm` of them into `normed`: the step after o_proj and down.
        MatMul.RowsDone AddResidual(float[]? norm) => (first, count) =>
        {
            VectorMath.Add(h.AsSpan(first * H, count * H), projected.AsSpan(first * H, count * H));
            if (norm is not null)
                for (int r = first; r < first + count; r++) VectorMath.RmsNorm(h.AsSpan(r * H, H), norm, normed.AsSpan(r * H, H), eps);
        };
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            var layer = _w.Layers[l];
            if (!inputNormed)
                for (int r = 0; r < R; r++) VectorMath.RmsNorm(h.AsSpan(r * H, H), _inputNorms[l], normed.AsSpan(r * H, H), eps);
            MatMul.Compute(_kernels, normed, R, (layer.QProj, q), (layer.KProj, k), (layer.VProj, v));

            // One task per (sequence, KV head): the QK norms and RoPE of its query and key heads, the new keys and
            // values into the cache, then attention. Done by the workers rather than by the caller before the dispatch
            // (the same arithmetic per head), so that none of it runs while the other workers wait.
            int tasks = batch.Count * nkv;
            WorkerPool.For(tasks, _kernels.Threads, task =>
            {
                int s = task / nkv, kvHead = task % nkv;
                PrepareHeads(l, batch[s], rowStart[s], kvHead, q, k, v, cos, sin);
                Attend(l, batch[s], rowStart[s], kvHead, q, k, v, attnOut);
            });

            // The residual add and the post-attention norm, per row, where the rows of the product were computed.
            MatMul.Compute(_kernels, layer.OProj, attnOut, R, projected, AddResidual(_postNorms[l]));
            if (probe?.Check($"model.layers.{l}", "self_attn output", h.AsSpan(0, R * H), H) == true) return [];

            if (layer.Moe is { } moe)
            {
                MoeForward(moe, normed, R, projected, workspace);
                VectorMath.Add(h.AsSpan(0, R * H), projected.AsSpan(0, R * H));
                inputNormed = false;
            }
            else
            {
                // The residual add and the next layer's input norm likewise (the diagnostic forward keeps them apart, so
                // that it checks this layer's output before anything reads it).
                float[]? nextNorm = l + 1 < c.NumHiddenLayers && probe is null ? _inputNorms[l + 1] : null;
                MlpForward(layer.Mlp!, normed, R, projected, workspace, AddResidual(nextNorm));
                inputNormed = nextNorm is not null;
            }
            if (probe?.Check($"model.layers.{l}", "mlp output", h.AsSpan(0, R * H), H) == true) return [];
        }

        foreach (var input in batch) input.Cache.Advance(input.StoredCount);

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
            for (int t = batch[s].FirstLogitRow; t < batch[s].Tokens.Length; t++) wanted.Add(rowStart[s] + t);
        }
        firstWanted[batch.Count] = wanted.Count;
        var results = new float[batch.Count][];
        if (wanted.Count == 0)
        {
            for (int s = 0; s < batch.Count; s++) results[s] = [];
            return results;
        }
        // Uninitialised: every element is written below (zeroing them was 0.7 % of the samples of a T = 16 forward of
        // sdar-mini on two threads, on the caller while the worker waited).
        var normed = GC.AllocateUninitializedArray<float>(wanted.Count * H);
        for (int i = 0; i < wanted.Count; i++)
            VectorMath.RmsNorm(h.AsSpan(wanted[i] * H, H), _finalNorm, normed.AsSpan(i * H, H), (float)c.RmsNormEps);
        // Rows of the final norm are the wanted rows only, so a fault here is reported at the first wanted row.
        // The probe runs one sequence, so the wanted rows are its rows from FirstLogitRow on.
        if (probe?.Check("model.norm", "final norm output", normed, H, batch[0].FirstLogitRow) == true) return [];
        var all = GC.AllocateUninitializedArray<float>(checked(wanted.Count * V));
        MatMul.Compute(_kernels, _w.LmHead, normed, wanted.Count, all);
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
    /// RMS norm and RoPE of the query heads sharing KV head <paramref name="kvHead"/> and of that key head, for every
    /// new token of one sequence, and the stored tokens' keys and values written to its cache.
    /// </summary>
    private void PrepareHeads(int layer, SequenceInput input, int firstRow, int kvHead, float[] q, float[] k, float[] v, float[] cos, float[] sin)
    {
        var c = Config;
        int hd = c.HeadDim, half = hd / 2, group = c.NumAttentionHeads / c.NumKeyValueHeads;
        int qWidth = c.NumAttentionHeads * hd, kvWidth = c.NumKeyValueHeads * hd;
        float eps = (float)c.RmsNormEps;
        var cache = input.Cache;
        for (int t = 0; t < input.Tokens.Length; t++)
        {
            int r = firstRow + t;
            var rowCos = cos.AsSpan(r * half, half);
            var rowSin = sin.AsSpan(r * half, half);
            for (int g = 0; g < group; g++)
            {
                var qh = q.AsSpan(r * qWidth + (kvHead * group + g) * hd, hd);
                VectorMath.RmsNorm(qh, _qNorms[layer], qh, eps);
                RotateHalf(qh, rowCos, rowSin);
            }
            var kh = k.AsSpan(r * kvWidth + kvHead * hd, hd);
            VectorMath.RmsNorm(kh, _kNorms[layer], kh, eps);
            RotateHalf(kh, rowCos, rowSin);
            if (t < input.StoredCount) cache.Write(layer, kvHead, cache.Length + t, kh, v.AsSpan(r * kvWidth + kvHead * hd, hd));
        }
    }

    /// <summary>
    /// Attention of one sequence's queries for the query heads sharing KV head <paramref name="kvHead"/>.
    /// The keys are the cached ones (read in place, run by run, whatever the storage) followed by the new ones (from
    /// this forward's activations); every query sees a prefix of them (its own position or block end), and each row
    /// is softmaxed over its own prefix. The arithmetic is the same whether a key came from the cache or the forward,
    /// and whatever the runs, so chunked prefills, fused commits and paged caches are exact.
    /// </summary>
    private unsafe void Attend(int layer, SequenceInput input, int firstRow, int kvHead, float[] q, float[] k, float[] v, float[] attnOut)
    {
        var c = Config;
        int hd = c.HeadDim, nq = c.NumAttentionHeads, group = nq / c.NumKeyValueHeads, qWidth = nq * hd, kvWidth = c.NumKeyValueHeads * hd;
        int T = input.Tokens.Length, start = input.Cache.Length, keyCount = start + T;
        int queries = group * T;

        // The keys and values as runs of consecutive positions: the cached ones where the cache stores them (a page
        // each, or one run), read in place; copying them first was 16 % of a T = 1 forward of sdar-mini at cache 512.
        // Only a cache that does not store float keys in tiles (BF16 pages, odd page sizes) is converted into a copy.
        // Then the new tokens' own, keys put into tiles (see KeyTiles).
        var runs = new List<KvRun>();
        float[]? cachedKeys = null, cachedValues = null;
        if (start > 0 && !input.Cache.TryGetRuns(layer, kvHead, start, runs))
        {
            var keyRows = ArrayPool<float>.Shared.Rent(start * hd);
            cachedKeys = ArrayPool<float>.Shared.Rent(KeyTiles.Length(start, hd));
            cachedValues = ArrayPool<float>.Shared.Rent(start * hd);
            input.Cache.Read(layer, kvHead, start, keyRows.AsSpan(0, start * hd), cachedValues.AsSpan(0, start * hd));
            KeyTiles.FromRows(keyRows, start, hd, cachedKeys);
            ArrayPool<float>.Shared.Return(keyRows);
            runs.Add(new KvRun(cachedKeys, 0, cachedValues, 0, start));
        }
        var newKeys = ArrayPool<float>.Shared.Rent(KeyTiles.Length(T, hd));
        var newValues = ArrayPool<float>.Shared.Rent(T * hd);
        var queryRows = ArrayPool<float>.Shared.Rent(queries * hd);
        var scores = ArrayPool<float>.Shared.Rent(queries * keyCount);
        var weighted = ArrayPool<float>.Shared.Rent(queries * hd);
        var visible = ArrayPool<int>.Shared.Rent(queries);
        try
        {
            newKeys.AsSpan(0, KeyTiles.Length(T, hd)).Clear();   // the last tile's padding: read by the kernels, never stored
            for (int t = 0; t < T; t++)
            {
                KeyTiles.Write(k.AsSpan((firstRow + t) * kvWidth + kvHead * hd, hd), t, newKeys);
                v.AsSpan((firstRow + t) * kvWidth + kvHead * hd, hd).CopyTo(newValues.AsSpan(t * hd, hd));
            }
            runs.Add(new KvRun(newKeys, 0, newValues, 0, T));
            // (group * T, hd): query row i = (head offset g, token t) as g * T + t
            for (int g = 0; g < group; g++)
                for (int t = 0; t < T; t++)
                    q.AsSpan((firstRow + t) * qWidth + (kvHead * group + g) * hd, hd).CopyTo(queryRows.AsSpan((g * T + t) * hd, hd));

            fixed (float* queryPtr = queryRows)
            fixed (float* p = scores)
            {
                for (int r = 0, position = 0; r < runs.Count; position += runs[r].Positions, r++)
                    fixed (float* keyPtr = runs[r].Keys)
                        AttentionScores.Compute(keyPtr + runs[r].KeyOffset, runs[r].Positions, queryPtr, queries, hd, p + position, keyCount, _kernels.UseVector512);

                float scale = 1f / MathF.Sqrt(hd);
                for (int i = 0; i < queries; i++)
                {
                    int t = i % T;
                    visible[i] = Math.Min(keyCount, Masks.LastVisibleKey(input.Attention, input.BlockLength, start + t) + 1);
                    var row = scores.AsSpan(i * keyCount, keyCount);
                    VectorMath.ScaledSoftmax(row[..visible[i]], scale);
                    row[visible[i]..].Clear();   // keys a query may not see weigh nothing
                }

                // Run after run, each output's chain over the keys continues from the runs before: the bits of one
                // pass over all keys.
                fixed (int* visiblePtr = visible)
                fixed (float* o = weighted)
                    for (int r = 0, position = 0; r < runs.Count; position += runs[r].Positions, r++)
                        fixed (float* valuePtr = runs[r].Values)
                            WeightedValues.Compute(p, queries, keyCount, position, runs[r].Positions, visiblePtr, valuePtr + runs[r].ValueOffset, hd, o, hd, accumulate: r > 0);
            }
            for (int i = 0; i < queries; i++)
            {
                int g = i / T, t = i % T;
                weighted.AsSpan(i * hd, hd).CopyTo(attnOut.AsSpan((firstRow + t) * qWidth + (kvHead * group + g) * hd, hd));
            }
        }
        finally
        {
            if (cachedKeys is not null) ArrayPool<float>.Shared.Return(cachedKeys);
            if (cachedValues is not null) ArrayPool<float>.Shared.Return(cachedValues);
            ArrayPool<float>.Shared.Return(newKeys);
            ArrayPool<float>.Shared.Return(newValues);
            ArrayPool<float>.Shared.Return(queryRows);
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<float>.Shared.Return(weighted);
            ArrayPool<int>.Shared.Return(visible);
        }
    }

    /// <summary>RoPE of one head in place: eight pairs at a time, each a multiply, a multiply and an add or subtract, as the scalar loop rounds them (no FMA), so the same bits.</summary>
    private static void RotateHalf(Span<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = cos.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= half; i += 8)
            {
                var x1 = Vector256.Create(x.Slice(i, 8));
                var x2 = Vector256.Create(x.Slice(i + half, 8));
                var c = Vector256.Create(cos.Slice(i, 8));
                var s = Vector256.Create(sin.Slice(i, 8));
                (x1 * c - x2 * s).CopyTo(x.Slice(i, 8));
                (x2 * c + x1 * s).CopyTo(x.Slice(i + half, 8));
            }
        for (; i < half; i++)
        {
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }

    /// <param name="then">Where given, run on whole rows of the output once written (see MatMul.Compute with a RowsDone).</param>
    private void MlpForward(DenseMlpWeights mlp, float[] x, int rows, float[] output, Workspace workspace, MatMul.RowsDone? then = null)
    {
        int inter = mlp.GateProj.Rows;
        var gate = workspace.Gate((long)rows * inter);
        var up = workspace.Up((long)rows * inter);
        MatMul.ComputeSwiGlu(_kernels, x, rows, mlp.GateProj, gate, mlp.UpProj, up);
        if (then is null) MatMul.Compute(_kernels, mlp.DownProj, gate, rows, output);
        else MatMul.Compute(_kernels, mlp.DownProj, gate, rows, output, then);
    }

    /// <summary>
    /// Qwen3-MoE: each row's router picks its top-k experts; rows are grouped by expert so every expert runs once
    /// over its rows. Contributions are added per row in expert-index order, whatever the batch (batch invariance).
    /// </summary>
    private void MoeForward(MoeWeights moe, float[] x, int rows, Span<float> output, Workspace workspace)
    {
        var c = Config;
        int H = c.HiddenSize, E = c.NumExperts, topK = c.NumExpertsPerTok;
        var routerLogits = new float[rows * E];
        MatMul.Compute(_kernels, moe.Router, x, rows, routerLogits);
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
            MlpForward(moe.Experts[e], gathered, assigned.Count, expertOut, workspace);
            for (int i = 0; i < assigned.Count; i++)
                VectorMath.Axpy(assigned[i].Weight, expertOut.AsSpan(i * H, H), output.Slice(assigned[i].Row * H, H));
        }
    }
}
