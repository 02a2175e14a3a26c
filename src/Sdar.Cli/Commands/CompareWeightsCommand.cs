using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Data;
using Sdar.Model;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar compare-weights</c>: a model's accuracy on a GSM8K-format test file as stored and quantized to q8 / q4
/// in memory, with the KL divergence of the quantized next-token distributions from the stored ones
/// (<see cref="WeightComparison"/>).
/// </summary>
internal static class CompareWeightsCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption();
        var data = new Option<FileInfo>("--data", "-d") { Description = "GSM8K-format JSONL ({\"question\", \"answer\"} per line), e.g. the test split of `sdar data generate`.", Required = true, HelpName = "FILE" };
        var formats = new Option<DType[]>("--formats")
        {
            Description = "Quantized formats to compare with the stored weights, comma-separated: q8, q4.",
            HelpName = "q8,q4",
            DefaultValueFactory = _ => [DType.Q8_0, DType.Q4_0],
            CustomParser = result =>
            {
                var list = new List<DType>();
                foreach (string part in string.Join(",", result.Tokens.Select(t => t.Value)).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    try
                    {
                        list.Add(Sdar.Checkpoints.CheckpointQuantizer.ParseFormat(part, "--formats"));
                    }
                    catch (ArgumentException e)
                    {
                        result.AddError(e.Message);
                        return [];
                    }
                }
                if (list.Count == 0) result.AddError("--formats: expected q8, q4 or q8,q4; got nothing");
                return [.. list.Distinct()];
            },
        };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N questions.", HelpName = "N" };
        limit.Integer(1);
        var batch = new Option<int>("--batch-size") { Description = "Questions decoded at once (results equal one at a time).", DefaultValueFactory = _ => 8, HelpName = "N" };
        batch.Integer(1, 4096);
        var raw = new Option<bool>("--no-chat") { Description = "Give the question as raw text instead of a chat turn." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per format: weights, weight_bytes, count, correct, accuracy, tokens_per_forward, kl_mean, kl_max, top_token_agreement, same_answers." };
        var flags = new GenerationFlags(defaultMaxNewTokens: 256, temperatureDefaultText: "0 (greedy)");
        var engineFlags = new EngineFlags();
        var kernelFlags = new KernelFlags();
        var command = new Command("compare-weights",
            "Accuracy of a model on a GSM8K-format test file with its stored weights and quantized to q8 / q4 in memory (as sdar quantize writes them), and the KL divergence of the quantized models' next-token distributions from the stored one on every test prompt.")
        {
            model, data, formats, limit, batch, raw, json,
        };
        flags.AddTo(command);
        engineFlags.AddTo(command);
        kernelFlags.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var file = parse.GetValue(data)!;
            if (!file.Exists) throw new FileNotFoundException($"--data: {file.FullName}: file not found");
            var examples = Jsonl.ReadGsm8k(file.FullName);
            if (parse.GetValue(limit) is { } n) examples = examples.Take(n).ToList();
            using var loaded = LoadedModel.Open(parse.GetValue(model)!, kernels: kernelFlags.Read(parse));
            // A counter redrawn in place on a terminal; one line per format in a log file or pipe.
            void Progress(DType format, int done, int total)
            {
                if (!Console.IsErrorRedirected) error.Write($"\r{WeightFormatNames.Name(format)}: evaluated {done}/{total}{(done == total ? "\n" : "")}");
                else if (done == total) error.WriteLine($"{WeightFormatNames.Name(format)}: evaluated {done}/{total}");
            }
            var options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0);
            GenerationFlags.Validate(options, loaded.Config);
            var results = GenerationFlags.InFlagTerms(() => WeightComparison.Run(loaded, parse.GetValue(formats)!, examples, options,
                parse.GetValue(batch), !parse.GetValue(raw), Progress,
                engineFlags.Read(parse), cancellation));
            string decoding = loaded.Config.IsDiffusion ? $"block_diffusion {options.Strategy}, B={options.BlockLength ?? loaded.Config.BlockSize}" : "autoregressive";
            if (!parse.GetValue(json))
            {
                output.WriteLine($"{loaded.Directory}: {examples.Count} items of {file.FullName}, {decoding}; KL(stored || quantized) of the next-token distribution in nats");
                output.WriteLine($"{"weights",8} {"MB",7} {"accuracy",9} {"correct",9} {"TPF",5} {"KL mean",9} {"KL max",9} {"same top token",15} {"same answer",12}");
            }
            foreach (var r in results)
            {
                if (parse.GetValue(json))
                {
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        weights = WeightFormatNames.Name(r.Format), weight_bytes = r.WeightBytes, count = r.Eval.Report.Count, correct = r.Eval.Report.Correct,
                        accuracy = Math.Round(r.Eval.Report.Accuracy, 4), tokens_per_forward = Math.Round(r.Eval.Metrics.TokensPerForward ?? 0, 3),
                        kl_mean = r.MeanKl, kl_max = r.MaxKl, top_token_agreement = r.TopTokenAgreement, same_answers = r.SameAnswers,
                    }));
                    continue;
                }
                string Share(double? v) => v is { } x ? x.ToString("P1", CultureInfo.InvariantCulture) : "-";
                string Kl(double? v) => v is { } x ? x.ToString("0.00e+00", CultureInfo.InvariantCulture) : "-";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{WeightFormatNames.Name(r.Format),8} {r.WeightBytes / 1e6,7:F2} {r.Eval.Report.Accuracy,9:P1} {$"{r.Eval.Report.Correct}/{r.Eval.Report.Count}",9} {r.Eval.Metrics.TokensPerForward ?? 0,5:F2} {Kl(r.MeanKl),9} {Kl(r.MaxKl),9} {Share(r.TopTokenAgreement),15} {Share(r.SameAnswers),12}"));
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
