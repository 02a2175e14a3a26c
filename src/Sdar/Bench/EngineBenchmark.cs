using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Bench;

/// <summary>One concurrency level of <see cref="EngineBenchmark"/>.</summary>
/// <param name="TokensPerForward">Generated tokens per denoising forward of a sequence (the paper's TPF).</param>
/// <param name="Gflops">FLOPs of all forwards over the time spent inside the model.</param>
public sealed record EngineBenchResult(
    int Concurrency,
    int Requests,
    long GeneratedTokens,
    double Seconds,
    double TokensPerSecond,
    double TokensPerForward,
    double LatencyMsMean,
    double LatencyMsP50,
    double LatencyMsP95,
    double FirstBlockMsMean,
    double FirstBlockMsP95,
    long Forwards,
    double Gflops,
    double MachinePeakGflops,
    long Preemptions);

/// <summary>
/// Throughput and latency of the engine under load: <c>concurrency</c> clients in a closed loop (each sends its
/// next request when its answer is complete) until <c>requests</c> answers are in. Reports aggregate generated
/// tokens per second, latency percentiles, the time to each request's first final block, and how hard the forwards
/// drive the cores (GFLOP/s against the FMA peak measured right before).
/// </summary>
public sealed class EngineBenchmark(ModelWeights weights, ILanguageModel model, IReadOnlyList<int> stopTokenIds,
    IReadOnlyList<int[]> prompts, GenerationOptions options, EngineOptions engineOptions, int threads)
{
    public EngineBenchResult Run(int concurrency, int requests)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        if (prompts.Count == 0) throw new InvalidOperationException("the benchmark needs at least one prompt");
        var limits = MachineLimits.Measure(threads);
        var counting = new FlopCountingModel(model, weights);
        // Warm-up (JIT, first-touch of the weights and the workspace) outside the timed run.
        var warmUp = new Engine(model, engineOptions, stopTokenIds);
        warmUp.Add(prompts[0], options with { MaxNewTokens = Math.Min(8, options.MaxNewTokens) });
        while (warmUp.HasPendingWork) warmUp.Step();

        var engine = new Engine(counting, engineOptions with { MaxRunningSequences = concurrency }, stopTokenIds);
        int sent = 0;
        var ended = new List<Sequence>(requests);
        void Send()
        {
            var prompt = prompts[sent % prompts.Count];
            engine.Add(prompt, options.Seed is { } seed ? options with { Seed = seed + sent } : options);
            sent++;
        }
        var start = engine.Now;
        while (sent < Math.Min(concurrency, requests)) Send();
        while (engine.HasPendingWork)
        {
            foreach (var sequence in engine.Step().Ended)
            {
                if (sequence.Status == SequenceStatus.Failed) throw sequence.Error!;
                ended.Add(sequence);
                if (sent < requests) Send();
            }
        }
        double seconds = (engine.Now - start).TotalSeconds;

        long generated = ended.Sum(s => (long)s.Result!.GeneratedTokenCount);
        long denoise = ended.Sum(s => (long)s.Result!.Nfe.Denoise);
        var latencies = ended.Select(s => (s.EndedAt!.Value - s.AddedAt).TotalMilliseconds).Order().ToArray();
        var firstBlocks = ended.Where(s => s.FirstChunkAt is not null).Select(s => (s.FirstChunkAt!.Value - s.AddedAt).TotalMilliseconds).Order().ToArray();
        double forwardSeconds = engine.ForwardTime.TotalSeconds;
        return new EngineBenchResult(concurrency, ended.Count, generated, seconds,
            seconds > 0 ? generated / seconds : 0,
            denoise > 0 ? (double)generated / denoise : 0,
            latencies.Average(), Percentile(latencies, 0.50), Percentile(latencies, 0.95),
            firstBlocks.Length > 0 ? firstBlocks.Average() : 0,
            firstBlocks.Length > 0 ? Percentile(firstBlocks, 0.95) : 0,
            engine.Forwards,
            forwardSeconds > 0 ? counting.Flops / forwardSeconds / 1e9 : 0,
            limits.PeakFlopsPerSecond / 1e9,
            engine.Scheduler.Preemptions);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Passes forwards through and adds up their FLOPs (<see cref="ForwardCost"/>).</summary>
    private sealed class FlopCountingModel(ILanguageModel inner, ModelWeights weights) : ILanguageModel
    {
        public double Flops { get; private set; }
        public Config.ModelConfig Config => inner.Config;

        public float[][] Forward(IReadOnlyList<SequenceInput> batch)
        {
            foreach (var input in batch) Flops += ForwardCost.Flops(weights, input.Tokens.Length, input.Cache.Length, input.LogitRowCount);
            return inner.Forward(batch);
        }
    }
}
