using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Data;
using Sdar.Evaluation;
using Sdar.IO;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar eval</c>: exact-match accuracy and tokens per forward of a model on a GSM8K-format JSONL file, or, with
/// <c>--completions</c>, the scores of completions produced elsewhere on any benchmark (<see cref="EvalScoring"/>).
/// </summary>
internal static class EvalCommand
{
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        var data = new Option<FileInfo>("--data", "-d") { Description = "The benchmark's data file in its official format; for a model, GSM8K-format JSONL ({\"question\", \"answer\"} per line), e.g. the test split of `sdar data generate`.", Required = true, HelpName = "FILE" };
        var benchmark = new Option<string>("--benchmark") { Description = $"Benchmark of the data file: {string.Join(", ", Benchmarks.Names)}. A model is evaluated on gsm8k only; the others score --completions.", DefaultValueFactory = _ => "gsm8k", HelpName = "NAME" };
        benchmark.AcceptOnlyFromAmong([.. Benchmarks.Names]);
        var completions = new Option<FileInfo?>("--completions") { Description = "Score these completions instead of running a model: JSONL lines with \"completion\" (or \"response\") and \"index\" (0-based item of --data), \"task_id\" or IFEval's \"prompt\".", HelpName = "FILE.jsonl" };
        var samples = new Option<bool>("--samples") { Description = "With --completions: items may have several completions (for pass@k and majority voting); accuracy is then pass@1." };
        var passAt = CliParsing.IntListOption("--pass-at", "With --completions --samples: report the unbiased pass@k for these k, e.g. 1,5,10.", "K,...", 1);
        var choiceSeed = new Option<ulong>("--choice-seed") { Description = "GPQA: the seed of the choice order (the same seed shows the same order everywhere).", DefaultValueFactory = _ => 0, HelpName = "N" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N questions.", HelpName = "N" };
        limit.Integer(1);
        var batch = new Option<int>("--batch-size") { Description = "Questions decoded at once (one forward for all per step; a finished answer's slot goes to the next question at once; results equal one at a time).", DefaultValueFactory = _ => 8, HelpName = "N" };
        batch.Integer(1, 4096);
        var raw = new Option<bool>("--no-chat") { Description = "Give the question as raw text instead of a chat turn." };
        var predictions = new Option<FileInfo?>("--predictions") { Description = "Write every question, prediction and verdict to this JSONL file (replaced atomically).", HelpName = "FILE.jsonl" };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var flags = new GenerationFlags(defaultMaxNewTokens: 256, temperatureDefaultText: "0 (greedy)");
        var command = new Command("eval", "Accuracy (exact match after ####) and tokens per forward of a model on a GSM8K-format test file, or benchmark scores of completions produced elsewhere (--completions).")
        {
            model, data, benchmark, completions, samples, passAt, choiceSeed, limit, batch, raw, predictions, json,
        };
        flags.AddTo(command);
        var engineFlags = new EngineFlags();
        engineFlags.AddTo(command);
        var kernelFlags = new KernelFlags();
        kernelFlags.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var file = parse.GetValue(data)!;
            if (!file.Exists) throw new FileNotFoundException($"--data: {file.FullName}: file not found");
            if (parse.GetValue(completions) is { } completionsFile)
            {
                CliParsing.Require(!parse.Given(model), "--model and --completions: give one (a model to run, or completions to score)");
                CliParsing.Require(!parse.Given(limit), "--limit: not with --completions (every item of --data is scored)");
                CliParsing.Require(!parse.Given(passAt) || parse.GetValue(samples), "--pass-at needs --samples (several completions per item)");
                if (!completionsFile.Exists) throw new FileNotFoundException($"--completions: {completionsFile.FullName}: file not found");
                return Task.FromResult(EvalScoring.Run(new EvalScoring.Request(parse.GetValue(benchmark)!, file.FullName, completionsFile.FullName,
                    parse.GetValue(predictions)?.FullName, parse.GetValue(json), parse.GetValue(samples), parse.GetValue(passAt) ?? [], parse.GetValue(choiceSeed)), output, JsonOutput));
            }
            CliParsing.Require(parse.Given(model), "--model: required to run a model (or give --completions to score completions produced elsewhere)");
            CliParsing.Require(parse.GetValue(benchmark) == "gsm8k", $"--benchmark {parse.GetValue(benchmark)}: a model is evaluated on gsm8k only; score completions produced elsewhere with --completions");
            // Checked and locked before the model loads, so an unwritable path fails now, not after the whole evaluation.
            string? predictionsFile = parse.GetValue(predictions)?.FullName;
            using var predictionsLock = predictionsFile is null ? null : OutputPaths.ClaimFile(predictionsFile, "--predictions");
            var examples = Jsonl.ReadGsm8k(file.FullName);
            if (parse.GetValue(limit) is { } n) examples = examples.Take(n).ToList();
            using var loaded = LoadedModel.Open(parse.GetValue(model)!, kernels: kernelFlags.Read(parse));
            // Evaluation is greedy unless asked otherwise: generation_config's sampling defaults do not apply.
            var options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0);
            GenerationFlags.Validate(options, loaded.Config);
            var engineOptions = engineFlags.Read(parse);
            // A counter redrawn in place on a terminal; whole lines now and then in a log file or pipe.
            var lines = Console.IsErrorRedirected ? new Sdar.Training.ProgressLines(error) : null;
            var report = GenerationFlags.InFlagTerms(() => GsmEvaluator.Run(loaded, examples, options, parse.GetValue(batch), !parse.GetValue(raw),
                (done, total) =>
                {
                    if (lines is null) error.Write($"\r{done}/{total}");
                    else lines.Report(done, total, () => $"evaluated {done}/{total} questions");
                }, engineOptions, cancellation));
            if (lines is null) error.WriteLine();
            if (predictionsFile is not null) GsmEvaluator.WritePredictions(predictionsFile, report);
            string decoding = loaded.Config.IsDiffusion ? $"block_diffusion {options.Strategy}" : "autoregressive";
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    model = loaded.Directory, data = file.FullName, decoding = loaded.Config.IsDiffusion ? "block_diffusion" : "autoregressive",
                    strategy = options.Strategy, block_length = options.BlockLength ?? loaded.Config.BlockSize, threshold = options.ConfidenceThreshold,
                    count = report.Count, correct = report.Correct, accuracy = Math.Round(report.Accuracy, 4),
                    tokens_per_forward = Math.Round(report.TokensPerForward, 3), tokens_per_second = Math.Round(report.TokensPerSecond, 1),
                    nfe_denoise = report.DenoisingForwards, nfe_total = report.TotalForwards, generated_tokens = report.GeneratedTokens,
                    seconds = Math.Round(report.Elapsed.TotalSeconds, 2), batch_size = report.BatchSize,
                }, JsonOutput));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{decoding}: accuracy {report.Accuracy:P1} ({report.Correct}/{report.Count}), {report.TokensPerForward:F2} tokens/forward, {report.TokensPerSecond:F0} tokens/s (batch {report.BatchSize}), {report.Elapsed.TotalSeconds:F1} s"));
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
