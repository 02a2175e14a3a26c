using System.Diagnostics;
using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Bench;

/// <summary>
/// One measured forward: T new tokens against a cache of C tokens. <see cref="Ms"/> is the median of the repeats and
/// <see cref="BestMs"/> the fastest, the least disturbed on a shared machine; the rates and the floor ratio are the
/// median's, <see cref="BestFloorRatio"/> the fastest one's.
/// </summary>
public sealed record BenchResult(
    int Tokens,
    int Cache,
    double Ms,
    double WeightGbPerS,
    double Gflops,
    double FloorMs,
    double FloorRatio,
    double? ReferenceMs,
    MachineLimits Limits,
    double BestMs,
    double BestFloorRatio);

/// <summary>One prepared forward of <see cref="ForwardBenchmark"/>: T new tokens against a filled cache.</summary>
public sealed class ForwardCase
{
    private readonly FastModel _fast;
    private readonly ReferenceModel _reference;
    private readonly SequenceInput[] _input;
    private readonly AttentionKind _attention;
    private readonly int _block;

    internal ForwardCase(FastModel fast, ReferenceModel reference, SequenceInput[] input, AttentionKind attention, int block)
    {
        _fast = fast;
        _reference = reference;
        _input = input;
        _attention = attention;
        _block = block;
    }

    public int Tokens => _input[0].Tokens.Length;
    public int CacheLength => _input[0].Cache.Length;

    /// <summary>One forward of the fast engine; the cache is left as it was.</summary>
    public void Run() => _fast.Forward(_input, _attention, _block);

    /// <summary>The same forward in the reference implementation (slow).</summary>
    public void RunReference() => _reference.Forward(_input, _attention, _block);
}

/// <summary>
/// Forward latency of the fast engine where SDAR lives (1 to 64 new tokens against a KV cache), set against this
/// machine's floor: the larger of (bytes read / measured bandwidth) and (FLOPs / measured FMA peak).
/// The cache is filled with random keys and values: attention cost does not depend on their values.
/// </summary>
public sealed class ForwardBenchmark
{
    private readonly ModelWeights _weights;
    private readonly int _threads;
    private readonly FastModel _fast;
    private readonly ReferenceModel _reference;

    /// <param name="kernels">The fast engine's settings; its thread count is also the one the machine's limits are measured with.</param>
    public ForwardBenchmark(ModelWeights weights, KernelSettings? kernels = null)
    {
        _weights = weights;
        _fast = new FastModel(weights, kernels);
        _threads = _fast.Kernels.Threads;
        _reference = new ReferenceModel(weights);
    }

    /// <summary>
    /// Median and best of <paramref name="repeats"/> timed forwards after a warm-up; the reference runs once when asked.
    /// The machine's limits are measured right before each case: on a shared machine they drift, and the ratio
    /// to the floor is only meaningful side by side.
    /// </summary>
    public BenchResult Run(int tokens, int cacheLength, int repeats, bool withReference)
    {
        var forward = CreateCase(tokens, cacheLength);
        var limits = MachineLimits.Measure(_threads);
        // Warm up for a quarter of a second (at least one forward), not one forward: the limits just streamed a GiB
        // through the caches and left thread-pool threads spinning on the cores for a while, and a small model's
        // forwards (well under a millisecond) timed right after ran up to twice as slow as a moment later.
        var warmUp = Stopwatch.StartNew();
        do forward.Run();
        while (warmUp.Elapsed.TotalSeconds < 0.25);
        var times = new List<double>();
        for (int i = 0; i < Math.Max(1, repeats); i++)
        {
            var sw = Stopwatch.StartNew();
            forward.Run();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        double ms = times[times.Count / 2];

        double? referenceMs = null;
        if (withReference)
        {
            var sw = Stopwatch.StartNew();
            forward.RunReference();
            referenceMs = sw.Elapsed.TotalMilliseconds;
        }

        var (weightBytes, kvBytes, flops) = Cost(tokens, cacheLength);
        double floorMs = 1e3 * Math.Max((weightBytes + kvBytes) / limits.BandwidthBytesPerSecond, flops / limits.PeakFlopsPerSecond);
        return new BenchResult(tokens, cacheLength, ms, weightBytes / (ms * 1e-3) / 1e9, flops / (ms * 1e-3) / 1e9,
            floorMs, ms / floorMs, referenceMs, limits, times[0], times[0] / floorMs);
    }

    /// <summary>
    /// The forward of one case, ready to run again and again: <paramref name="tokens"/> random new tokens (one block,
    /// as in a denoising step; causal for an AR model) against a cache of <paramref name="cacheLength"/> random keys
    /// and values, every logits row returned, nothing stored. What <c>sdar bench</c> times, for callers that time it
    /// their own way (side by side with another engine).
    /// </summary>
    public ForwardCase CreateCase(int tokens, int cacheLength)
    {
        var config = _weights.Config;
        var random = new Random(tokens * 7919 + cacheLength);
        var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(config.VocabSize)).ToArray();
        var cache = RandomCache(cacheLength, random);
        var input = new[] { new SequenceInput(ids, cache, StoreKv: false, LogitsKind.All) };
        var attention = config.IsDiffusion ? AttentionKind.BlockCausal : AttentionKind.Causal;
        return new ForwardCase(_fast, _reference, input, attention, Math.Max(tokens, 1));
    }

    /// <summary>
    /// Bytes of weights read (every Linear and the LM head once, plus T embedding rows; for MoE the experts that
    /// T tokens can reach at most), bytes of cached keys/values read, and FLOPs (2 per multiply-add).
    /// </summary>
    public (double WeightBytes, double KvBytes, double Flops) Cost(int tokens, int cacheLength)
    {
        var c = _weights.Config;
        double weightBytes = 0;
        foreach (var layer in _weights.Layers)
        {
            foreach (var t in new[] { layer.QProj, layer.KProj, layer.VProj, layer.OProj }) weightBytes += t.ByteLength;
            if (layer.Mlp is { } mlp) weightBytes += mlp.GateProj.ByteLength + mlp.UpProj.ByteLength + mlp.DownProj.ByteLength;
            if (layer.Moe is { } moe)
            {
                var expert = moe.Experts[0];
                double expertBytes = expert.GateProj.ByteLength + expert.UpProj.ByteLength + expert.DownProj.ByteLength;
                weightBytes += moe.Router.ByteLength + expertBytes * Math.Min(c.NumExperts, tokens * c.NumExpertsPerTok);
            }
        }
        weightBytes += _weights.LmHead.ByteLength + (double)tokens * c.HiddenSize * _weights.EmbedTokens.DType.SizeInBytes();
        double kvBytes = 2.0 * c.NumHiddenLayers * c.NumKeyValueHeads * (cacheLength + tokens) * c.HeadDim * sizeof(float);
        return (weightBytes, kvBytes, ForwardCost.Flops(_weights, tokens, cacheLength, logitRows: tokens));
    }

    private ContiguousKvCache RandomCache(int length, Random random)
    {
        var config = _weights.Config;
        var cache = new ContiguousKvCache(config, Math.Max(1, length + 64));
        cache.Reserve(length);
        var key = new float[config.HeadDim];
        var value = new float[config.HeadDim];
        for (int l = 0; l < config.NumHiddenLayers; l++)
            for (int h = 0; h < config.NumKeyValueHeads; h++)
                for (int position = 0; position < length; position++)
                {
                    for (int d = 0; d < key.Length; d++)
                    {
                        key[d] = (float)(random.NextDouble() * 2 - 1);
                        value[d] = (float)(random.NextDouble() * 2 - 1);
                    }
                    cache.Write(l, h, position, key, value);
                }
        cache.Advance(length);
        return cache;
    }
}
