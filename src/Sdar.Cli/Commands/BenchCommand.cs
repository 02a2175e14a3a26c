using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Bench;
using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar bench</c>: forward latency against this machine's roofline floor, and against the reference.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        var shape = new Option<string?>("--shape") { Description = $"Benchmark a random model (BF16 unless --weights) of a real shape built in memory: {string.Join(", ", ModelShapes.Names)}.", HelpName = "NAME" };
        shape.OneOfNames(ModelShapes.Names);
        var tokens = CliParsing.IntListOption("--tokens", "New tokens per forward (T), comma-separated.", "LIST", minimum: 1, [1, 4, 8, 16, 32, 64], maximum: CliParsing.MaxTokens);
        var cache = CliParsing.IntListOption("--cache", "Cached tokens the forward attends to, comma-separated.", "LIST", minimum: 0, [0, 512, 2048], maximum: CliParsing.MaxTokens);
        var repeats = new Option<int>("--repeats") { Description = "Timed forwards per case (the median is reported).", DefaultValueFactory = _ => 5, HelpName = "N" };
        repeats.Integer(1, 1_000_000);
        var referenceMax = new Option<int>("--reference-max-tokens") { Description = "Also time the plain reference implementation for cases with T <= this (it is slow: seconds per token at 1.7B); 0 = never.", DefaultValueFactory = _ => 4, HelpName = "T" };
        referenceMax.Integer(0, CliParsing.MaxTokens);
        var weightsFlag = new BenchWeightsFlag();
        var kernelFlags = new KernelFlags();
        var json = new Option<bool>("--json") { Description = "Print one JSON object per case: tokens, cache, ms, weight_gb_per_s, gflops, floor_ms, floor_ratio, best_ms, best_floor_ratio, reference_ms, machine_gb_per_s, machine_peak_gflops." };

        var command = new Command("bench", "Forward latency for T new tokens against a KV cache, with the ratio to this machine's floor (bandwidth or FMA bound).")
        {
            model, shape, tokens, cache, repeats, referenceMax, json,
        };
        weightsFlag.AddTo(command);
        kernelFlags.AddTo(command);
        command.Add(EngineBenchCommand.Create());
        command.Add(ServeBenchCommand.Create());
        command.Add(KernelBenchCommand.Create());
        command.SetAction(parse =>
        {
            CliParsing.Require(parse.Given(model) != parse.Given(shape), "give exactly one of --model DIR or --shape NAME");
            var format = weightsFlag.Read(parse, randomModel: parse.Given(shape));
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var kernels = kernelFlags.Read(parse);
            Checkpoint? checkpoint = null;
            try
            {
                ModelWeights weights;
                string what;
                if (parse.GetValue(shape) is { } name)
                {
                    string formatName = WeightFormatNames.Name(format);
                    error.WriteLine($"building a random {formatName} {name} model in memory...");
                    weights = RandomModel.Create(ModelShapes.Get(name), format, seed: 1);
                    what = $"random {name} ({formatName})";
                }
                else
                {
                    checkpoint = Checkpoint.Open(parse.GetValue(model)!);
                    weights = checkpoint.Weights;
                    what = checkpoint.Config.QuantizationConfig is { } q ? $"{checkpoint.Directory} ({q.Format})" : checkpoint.Directory;
                }
                var quantized = weights.QuantizedFormats().Select(d => $", {d} on {(kernels.Int8ActivationsFor(d) ? "int8" : "float")} activations");
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"model: {what}, {weights.ParameterCount() / 1e9:F3} B parameters, {kernels.Threads} threads{string.Concat(quantized)}; the machine's read bandwidth and FMA peak are measured before each case"));
                var bench = new ForwardBenchmark(weights, kernels);
                bool asJson = parse.GetValue(json);
                if (!asJson)
                    output.WriteLine($"{"T",4} {"cache",6} {"ms",9} {"weight GB/s",12} {"GFLOP/s",9} {"floor ms",9} {"/floor",7} {"best ms",9} {"/floor",7} {"ref ms",10} {"ref/fast",9} {"machine GB/s",13} {"peak GFLOP/s",13}");
                foreach (int c in parse.GetValue(cache)!)
                    foreach (int t in parse.GetValue(tokens)!)
                    {
                        var r = bench.Run(t, c, parse.GetValue(repeats), withReference: t <= parse.GetValue(referenceMax));
                        if (asJson)
                        {
                            output.WriteLine(JsonSerializer.Serialize(new
                            {
                                tokens = r.Tokens, cache = r.Cache, ms = Math.Round(r.Ms, 3), weight_gb_per_s = Math.Round(r.WeightGbPerS, 2),
                                gflops = Math.Round(r.Gflops, 2), floor_ms = Math.Round(r.FloorMs, 3), floor_ratio = Math.Round(r.FloorRatio, 3),
                                best_ms = Math.Round(r.BestMs, 3), best_floor_ratio = Math.Round(r.BestFloorRatio, 3),
                                reference_ms = r.ReferenceMs is { } ms ? Math.Round(ms, 1) : (double?)null,
                                machine_gb_per_s = Math.Round(r.Limits.BandwidthBytesPerSecond / 1e9, 2),
                                machine_peak_gflops = Math.Round(r.Limits.PeakFlopsPerSecond / 1e9, 1),
                            }));
                        }
                        else
                        {
                            string reference = r.ReferenceMs is { } ms ? ms.ToString("F1", CultureInfo.InvariantCulture) : "-";
                            string speedup = r.ReferenceMs is { } m ? (m / r.Ms).ToString("F1", CultureInfo.InvariantCulture) + "x" : "-";
                            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{r.Tokens,4} {r.Cache,6} {r.Ms,9:F2} {r.WeightGbPerS,12:F2} {r.Gflops,9:F1} {r.FloorMs,9:F2} {r.FloorRatio,7:F2} {r.BestMs,9:F2} {r.BestFloorRatio,7:F2} {reference,10} {speedup,9} {r.Limits.BandwidthBytesPerSecond / 1e9,13:F1} {r.Limits.PeakFlopsPerSecond / 1e9,13:F0}"));
                        }
                        output.Flush();
                    }
            }
            finally
            {
                checkpoint?.Dispose();
            }
            return 0;
        });
        return command;
    }
}
