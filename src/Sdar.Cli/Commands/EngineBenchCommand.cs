using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Bench;
using Sdar.Checkpoints;
using Sdar.Data;
using Sdar.Decoding;
using Sdar.Evaluation;
using Sdar.Model;
using Sdar.Model.Kernels;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar bench engine</c>: throughput and latency of the engine at several concurrencies.</summary>
internal static class EngineBenchCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        var shape = new Option<string?>("--shape") { Description = $"Benchmark a random model (BF16 unless --weights) of a real shape built in memory (random prompts, no early stop): {string.Join(", ", ModelShapes.Names)}.", HelpName = "NAME" };
        shape.OneOfNames(ModelShapes.Names);
        var concurrency = CliParsing.IntListOption("--concurrency", "Requests in flight at once (closed loop: a finished request is replaced by the next), comma-separated.", "LIST", minimum: 1, [1, 4, 8, 16], maximum: 4096);
        var load = new BenchLoad();
        var weightsFlag = new BenchWeightsFlag();
        var json = new Option<bool>("--json") { Description = "Print one JSON object per concurrency: concurrency, tokens_per_second, tokens_per_forward, latency_ms_p50, latency_ms_p95, first_block_ms_mean, gflops, machine_peak_gflops." };
        var flags = new GenerationFlags(defaultMaxNewTokens: 128, temperatureDefaultText: "0 (greedy)");
        var engineFlags = new EngineFlags();
        var kernelFlags = new KernelFlags();
        var command = new Command("engine", "Aggregate tokens/s, tokens per forward, latency and time to the first block of the engine at each concurrency, with the forwards' GFLOP/s against this machine's FMA peak. --model DIR uses the synthetic GSM8K-style questions as chat prompts.")
        {
            model, shape, concurrency, json,
        };
        load.AddTo(command);
        weightsFlag.AddTo(command);
        flags.AddTo(command);
        engineFlags.AddTo(command);
        kernelFlags.AddTo(command);
        command.SetAction(parse =>
        {
            CliParsing.Require(parse.Given(model) != parse.Given(shape), "give exactly one of --model DIR or --shape NAME");
            var format = weightsFlag.Read(parse, randomModel: parse.Given(shape));
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var kernels = kernelFlags.Read(parse);
            var levels = parse.GetValue(concurrency)!;
            int requestCount = load.Requests(parse, levels);
            var engineOptions = engineFlags.Read(parse);
            LoadedModel? loaded = null;
            try
            {
                ModelWeights weights;
                ILanguageModel languageModel;
                IReadOnlyList<int> stopIds;
                IReadOnlyList<int[]> prompts;
                GenerationOptions options;
                if (parse.GetValue(shape) is { } name)
                {
                    error.WriteLine($"building a random {WeightFormatNames.Name(format)} {name} model in memory...");
                    weights = RandomModel.Create(ModelShapes.Get(name), format, seed: 1);
                    languageModel = new FastModel(weights, kernels);
                    stopIds = [];
                    prompts = load.RandomPrompts(parse, requestCount, weights.Config.VocabSize);
                    // A random model never means to stop: every request generates exactly --max-new-tokens.
                    options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0) with { IgnoreEos = true };
                }
                else
                {
                    loaded = LoadedModel.Open(parse.GetValue(model)!, kernels: kernels);
                    weights = loaded.Weights;
                    languageModel = loaded.Model;
                    stopIds = loaded.StopTokenIds;
                    prompts = BenchLoad.QuestionPrompts(loaded, requestCount);
                    options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0);
                }
                GenerationFlags.Validate(options, weights.Config, prompts.Max(p => p.Length));
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"model: {(loaded is null ? $"random {parse.GetValue(shape)} ({WeightFormatNames.Name(format)})" : loaded.Directory + (weights.Config.QuantizationConfig is { } q ? $" ({q.Format})" : ""))}, {weights.ParameterCount() / 1e9:F3} B parameters, {kernels.Threads} threads, {requestCount} requests per level, max {options.MaxNewTokens} new tokens, {(weights.Config.IsDiffusion ? options.Strategy : "autoregressive")}"));
                var bench = new EngineBenchmark(weights, languageModel, stopIds, prompts, options, engineOptions, kernels.Threads);
                bool asJson = parse.GetValue(json);
                if (!asJson)
                    output.WriteLine($"{"conc",5} {"tokens/s",9} {"TPF",6} {"lat ms p50",11} {"p95",9} {"mean",9} {"1st block ms",13} {"forwards",9} {"GFLOP/s",8} {"peak",7} {"%peak",6} {"preempt",8}");
                foreach (int level in levels)
                {
                    var r = GenerationFlags.InFlagTerms(() => bench.Run(level, requestCount));
                    if (asJson)
                    {
                        output.WriteLine(JsonSerializer.Serialize(new
                        {
                            concurrency = r.Concurrency, requests = r.Requests, generated_tokens = r.GeneratedTokens, seconds = Math.Round(r.Seconds, 3),
                            tokens_per_second = Math.Round(r.TokensPerSecond, 2), tokens_per_forward = Math.Round(r.TokensPerForward, 3),
                            latency_ms_mean = Math.Round(r.LatencyMsMean, 1), latency_ms_p50 = Math.Round(r.LatencyMsP50, 1), latency_ms_p95 = Math.Round(r.LatencyMsP95, 1),
                            first_block_ms_mean = Math.Round(r.FirstBlockMsMean, 1), forwards = r.Forwards,
                            gflops = Math.Round(r.Gflops, 2), machine_peak_gflops = Math.Round(r.MachinePeakGflops, 1), preemptions = r.Preemptions,
                        }));
                    }
                    else
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{r.Concurrency,5} {r.TokensPerSecond,9:F1} {r.TokensPerForward,6:F2} {r.LatencyMsP50,11:F0} {r.LatencyMsP95,9:F0} {r.LatencyMsMean,9:F0} {r.FirstBlockMsMean,13:F0} {r.Forwards,9} {r.Gflops,8:F1} {r.MachinePeakGflops,7:F0} {100 * r.Gflops / r.MachinePeakGflops,5:F0}% {r.Preemptions,8}"));
                    }
                    output.Flush();
                }
            }
            finally
            {
                loaded?.Dispose();
            }
            return 0;
        });
        return command;
    }
}
