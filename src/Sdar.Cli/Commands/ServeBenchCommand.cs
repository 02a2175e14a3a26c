using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Model.Kernels;
using Sdar.Runtime;
using Sdar.Server;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar bench serve</c>: tokens/s and time to first text through the HTTP server, next to the engine alone.</summary>
internal static class ServeBenchCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        model.Description = $"Model folder; default: the bundled models/{BundledModels.DefaultName} (the synthetic GSM8K-style questions as chat prompts).";
        var shape = ServeCommand.ShapeOption("Benchmark a random BF16 model of a real shape built in memory (random prompts, no early stop)");
        var tokenizer = ServeCommand.TokenizerOption();
        var concurrency = CliParsing.IntListOption("--concurrency", "HTTP clients in flight at once (closed loop), comma-separated.", "LIST", minimum: 1, [1, 4, 8, 16], maximum: 1024);
        var load = new BenchLoad();
        var rounds = new Option<int>("--rounds") { Description = "Rounds per concurrency, engine and HTTP alternating; the median round is reported.", DefaultValueFactory = _ => 3, HelpName = "N" };
        rounds.Integer(1, 1000);
        var json = new Option<bool>("--json") { Description = "Print one JSON object per concurrency with the HTTP and the engine figures." };
        var flags = new GenerationFlags(defaultMaxNewTokens: 128, temperatureDefaultText: "0 (greedy)");
        var engineFlags = new EngineFlags();
        var kernelFlags = new KernelFlags();
        var command = new Command("serve", "Aggregate tokens/s, time to first text and latency through sdar serve's HTTP API (streamed /v1/completions from concurrent clients on loopback), next to the engine's own figures for the same requests in the same run, and the share the HTTP layer costs.")
        {
            model, shape, tokenizer, concurrency, rounds, json,
        };
        load.AddTo(command);
        flags.AddTo(command);
        engineFlags.AddTo(command);
        kernelFlags.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var kernels = kernelFlags.Read(parse);
            var levels = parse.GetValue(concurrency)!;
            int requestCount = load.Requests(parse, levels);
            var loaded = ServeCommand.OpenModel(parse, model, shape, tokenizer, error, kernels);
            // No stop ids for a --shape model: every answer is --max-new-tokens long.
            int[][] prompts = parse.GetValue(shape) is not null
                ? load.RandomPrompts(parse, requestCount, loaded.Config.VocabSize)
                : BenchLoad.QuestionPrompts(loaded, requestCount);
            var options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0);
            ServerBenchmark bench;
            try
            {
                GenerationFlags.Validate(options, loaded.Config, prompts.Max(p => p.Length));
                bench = new ServerBenchmark(loaded, prompts, options, engineFlags.Read(parse), kernels.Threads);
            }
            catch
            {
                loaded.Dispose();
                throw;
            }
            await using (bench)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"model: {loaded.Name}, {loaded.Weights.ParameterCount() / 1e9:F3} B parameters, {kernels.Threads} threads, {requestCount} requests per level, max {options.MaxNewTokens} new tokens, {(loaded.Config.IsDiffusion ? options.Strategy : "autoregressive")}; a fresh server on loopback per run, clients in this process"));
                bool asJson = parse.GetValue(json);
                if (!asJson)
                    output.WriteLine($"{"conc",5} {"HTTP tok/s",11} {"engine tok/s",13} {"HTTP cost",10} {"TTFT ms mean",13} {"p95",7} {"engine 1st block mean",22} {"p95",7} {"lat ms mean",12} {"p95",7}");
                foreach (int level in levels)
                {
                    var r = await bench.RunAsync(level, requestCount, parse.GetValue(rounds), cancellation);
                    if (asJson)
                    {
                        output.WriteLine(JsonSerializer.Serialize(new
                        {
                            concurrency = r.Concurrency, requests = r.Requests, generated_tokens = r.GeneratedTokens, seconds = Math.Round(r.Seconds, 3),
                            tokens_per_second = Math.Round(r.TokensPerSecond, 2), engine_tokens_per_second = Math.Round(r.Engine.TokensPerSecond, 2),
                            http_cost = Math.Round(r.HttpCost, 4),
                            ttft_ms_mean = Math.Round(r.TimeToFirstTextMsMean, 1), ttft_ms_p95 = Math.Round(r.TimeToFirstTextMsP95, 1),
                            engine_first_block_ms_mean = Math.Round(r.Engine.FirstBlockMsMean, 1), engine_first_block_ms_p95 = Math.Round(r.Engine.FirstBlockMsP95, 1),
                            latency_ms_mean = Math.Round(r.LatencyMsMean, 1), latency_ms_p95 = Math.Round(r.LatencyMsP95, 1),
                            engine_generated_tokens = r.Engine.GeneratedTokens,
                        }));
                    }
                    else
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{r.Concurrency,5} {r.TokensPerSecond,11:F1} {r.Engine.TokensPerSecond,13:F1} {100 * r.HttpCost,9:F1}% {r.TimeToFirstTextMsMean,13:F0} {r.TimeToFirstTextMsP95,7:F0} {r.Engine.FirstBlockMsMean,22:F0} {r.Engine.FirstBlockMsP95,7:F0} {r.LatencyMsMean,12:F0} {r.LatencyMsP95,7:F0}"));
                    }
                    output.Flush();
                }
            }
            return 0;
        });
        return command;
    }
}
