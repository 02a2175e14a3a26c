using System.CommandLine;
using System.Text.Json;
using Sdar.Evaluation;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar eval</c>: a benchmark's scores for a model (local, through the engine, or behind an OpenAI-compatible
/// endpoint; <see cref="EvalRun"/>), or, with <c>--completions</c>, for completions produced elsewhere (<see cref="EvalScoring"/>).
/// </summary>
internal static class EvalCommand
{
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        var data = new Option<FileInfo>("--data", "-d") { Description = "The benchmark's data file in its official format (synthetic and gsm8k: {\"question\", \"answer\"} JSONL, e.g. the test split of `sdar data generate`).", Required = true, HelpName = "FILE" };
        var benchmark = new Option<string>("--benchmark") { Description = $"Benchmark of the data file: {string.Join(", ", Benchmarks.Names)}.", DefaultValueFactory = _ => "gsm8k", HelpName = "NAME" };
        benchmark.AcceptOnlyFromAmong([.. Benchmarks.Names]);
        var completions = new Option<FileInfo?>("--completions") { Description = "Score these completions instead of running a model: JSONL lines with \"completion\" (or \"response\") and \"index\" (0-based item of --data), \"task_id\" or IFEval's \"prompt\".", HelpName = "FILE.jsonl" };
        var endpoint = new Option<string?>("--endpoint") { Description = "Generate through this OpenAI-compatible server instead of a local model (sdar serve, vLLM, SGLang, LMDeploy), e.g. http://127.0.0.1:8000/v1. SDAR decoding flags given go as extra body fields.", HelpName = "URL" };
        var apiKey = new Option<string?>("--api-key") { Description = "With --endpoint: the bearer token (default: $OPENAI_API_KEY when set).", HelpName = "KEY" };
        var endpointModel = new Option<string?>("--endpoint-model") { Description = "With --endpoint: the model to ask for (default: the first the server lists at /v1/models).", HelpName = "NAME" };
        var samples = new Option<int>("--samples") { Description = "Answers per item: with a model, K draws (needs --temperature > 0) for majority voting and pass@k; with --completions, every item must have K completions.", DefaultValueFactory = _ => 1, HelpName = "K" };
        samples.Integer(1, 1024);
        var passAt = CliParsing.IntListOption("--pass-at", "With --samples: report the unbiased pass@k for these k, e.g. 1,5,10.", "K,...", 1);
        var shots = new Option<int>("--shots") { Description = "Few-shot: start every prompt with the first N items of --shots-data as worked examples (gsm8k, math, mmlu, gpqa, mbpp).", DefaultValueFactory = _ => 0, HelpName = "N" };
        shots.Integer(0, 64);
        var shotsData = new Option<FileInfo?>("--shots-data") { Description = "With --shots: the dev or train file of the same format the worked examples come from.", HelpName = "FILE" };
        var choiceSeed = new Option<ulong>("--choice-seed") { Description = "GPQA: the seed of the choice order (the same seed shows the same order everywhere).", DefaultValueFactory = _ => 0, HelpName = "N" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N items.", HelpName = "N" };
        limit.Integer(1);
        var concurrency = new Option<int>("--concurrency", "--batch-size") { Description = "Answers generated at once: the engine's running sequences (one forward for all per step; a finished answer's slot goes to the next at once; results equal one at a time), or concurrent requests to --endpoint.", DefaultValueFactory = _ => 8, HelpName = "N" };
        concurrency.Integer(1, 4096);
        var compareAr = new Option<string?>("--compare-ar") { Description = "Also decode the same items with this AR model at the same concurrency, and report the wall-clock speed-up.", HelpName = "DIR" };
        var raw = new Option<bool>("--no-chat") { Description = "Give the prompt as raw text to continue instead of a chat turn (base models; HumanEval continuation)." };
        var predictions = new Option<FileInfo?>("--predictions") { Description = "Write every answer with its verdict and cost to this JSONL file as it finishes; a run with the same settings continues an interrupted file.", HelpName = "FILE.jsonl" };
        var restart = new Option<bool>("--restart") { Description = "With --predictions: start over instead of continuing the file." };
        var sweep = new Option<DirectoryInfo?>("--sweep") { Description = "Evaluate a grid of settings (--sweep-models × --sweep-block-lengths × --sweep-strategies × thresholds) and write sweep.csv, sweep.md and PNG plots here (with --compare-ar: the speed-up of each).", HelpName = "DIR" };
        var sweepModels = new Option<string[]>("--sweep-models") { Description = "With --sweep: the SDAR models to sweep (comma-separated or repeated; default: --model), e.g. one per block size.", HelpName = "DIR,...", AllowMultipleArgumentsPerToken = true, CustomParser = CliParsing.CommaSeparated };
        var sweepBlocks = CliParsing.IntListOption("--sweep-block-lengths", "With --sweep: block lengths to decode each model with (default: each model's block_size).", "B,...", 1, maximum: CliParsing.MaxTokens);
        var sweepStrategies = new Option<string[]>("--sweep-strategies") { Description = "With --sweep: strategies (comma-separated). Default: low_confidence_static,low_confidence_dynamic.", HelpName = "NAME,...", CustomParser = CliParsing.CommaSeparated, DefaultValueFactory = _ => ["low_confidence_static", "low_confidence_dynamic"] };
        sweepStrategies.Validators.Add(r =>
        {
            foreach (string name in r.GetValueOrDefault<string[]>() ?? [])
                if (!Sdar.Decoding.UnmaskingStrategies.Names.Contains(name))
                    r.AddError($"--sweep-strategies: \"{name}\" is not a strategy (expected {string.Join(", ", Sdar.Decoding.UnmaskingStrategies.Names)})");
        });
        var sweepThresholds = RealList("--sweep-thresholds", "With --sweep: confidence thresholds of low_confidence_dynamic.", [0.7, 0.8, 0.9, 0.95]);
        var sweepEb = RealList("--sweep-eb-thresholds", "With --sweep: entropy budgets of entropy_bounded (nats).", [0.1, 0.35, 0.7]);
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var flags = new GenerationFlags(defaultMaxNewTokens: 256, temperatureDefaultText: "0 (greedy)");
        var command = new Command("eval", "A benchmark's scores with accuracy, NFE, tokens per forward and tokens/s for a model (local or --endpoint), or the scores of completions produced elsewhere (--completions).")
        {
            model, data, benchmark, completions, endpoint, apiKey, endpointModel, samples, passAt, shots, shotsData, choiceSeed, limit, concurrency,
            compareAr, raw, predictions, restart, json, sweep, sweepModels, sweepBlocks, sweepStrategies, sweepThresholds, sweepEb,
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
            CliParsing.Require(!parse.Given(passAt) || parse.GetValue(samples) > 1, "--pass-at needs --samples K with K above 1 (several answers per item)");
            CliParsing.Require(!parse.Given(restart) || parse.Given(predictions), "--restart: only with --predictions (the file to start over)");
            if (parse.GetValue(completions) is { } completionsFile)
            {
                CliParsing.Require(!parse.Given(model), "--model and --completions: give one (a model to run, or completions to score)");
                CliParsing.Require(!parse.Given(endpoint), "--endpoint and --completions: give one (a server to ask, or completions to score)");
                CliParsing.Require(!parse.Given(limit), "--limit: not with --completions (every item of --data is scored)");
                if (!completionsFile.Exists) throw new FileNotFoundException($"--completions: {completionsFile.FullName}: file not found");
                return Task.FromResult(EvalScoring.Run(new EvalScoring.Request(parse.GetValue(benchmark)!, file.FullName, completionsFile.FullName,
                    parse.GetValue(predictions)?.FullName, parse.GetValue(json), parse.GetValue(samples), parse.GetValue(passAt) ?? [], parse.GetValue(choiceSeed)), output, JsonOutput));
            }
            CliParsing.Require(parse.Given(model) != parse.Given(endpoint) || parse.Given(sweepModels) && !parse.Given(endpoint),
                parse.Given(model) ? "--model and --endpoint: give one (a local model, or a server to ask)"
                    : "--model: required to run a model (or --endpoint URL to ask a server, or --completions to score completions produced elsewhere)");
            CliParsing.Require(parse.Given(endpoint) || !parse.Given(apiKey) && !parse.Given(endpointModel), "--api-key and --endpoint-model go with --endpoint");
            CliParsing.Require(!parse.Given(shotsData) || parse.GetValue(shots) > 0, "--shots-data: give --shots N too (how many worked examples)");
            // Evaluation is greedy unless asked otherwise: generation_config's sampling defaults do not apply.
            var options = flags.Read(parse, Sdar.Config.GenerationConfig.Empty, fallbackTemperature: 0);
            var request = new EvalRun.Request(parse.GetValue(benchmark)!, file.FullName, parse.GetValue(limit), parse.GetValue(shots), parse.GetValue(shotsData)?.FullName,
                parse.GetValue(samples), parse.GetValue(passAt) ?? [], parse.GetValue(choiceSeed),
                parse.GetValue(model), parse.GetValue(endpoint), parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"), parse.GetValue(endpointModel),
                parse.GetValue(compareAr), parse.GetValue(concurrency), !parse.GetValue(raw), options, flags.GivenDecodingFields(parse), engineFlags.Read(parse),
                parse.GetValue(predictions)?.FullName, parse.GetValue(restart), parse.GetValue(json), kernelFlags.Read(parse));
            if (parse.GetValue(sweep) is { } sweepDir)
            {
                CliParsing.Require(!parse.Given(endpoint), "--sweep: runs local models (--model / --sweep-models), not --endpoint");
                CliParsing.Require(!parse.Given(predictions), "--sweep: each setting's predictions go to DIR/predictions/; --predictions is not used");
                var models = parse.GetValue(sweepModels) is { Length: > 0 } given ? given : [parse.GetValue(model)!];
                var grid = new EvalSweep.Grid(models, parse.GetValue(sweepBlocks) ?? [], parse.GetValue(sweepStrategies)!, parse.GetValue(sweepThresholds)!, parse.GetValue(sweepEb)!);
                return Task.FromResult(EvalSweep.Run(request, grid, sweepDir.FullName, output, error, cancellation));
            }
            CliParsing.Require(!parse.Given(sweepModels) && !parse.Given(sweepBlocks) && !parse.Given(sweepStrategies) && !parse.Given(sweepThresholds) && !parse.Given(sweepEb),
                "--sweep-models, --sweep-block-lengths, --sweep-strategies and the sweep thresholds go with --sweep DIR");
            return Task.FromResult(EvalRun.Run(request, output, error, JsonOutput, cancellation));
        });
        return command;
    }

    private static Option<double[]> RealList(string name, string description, double[] defaults)
    {
        var option = new Option<double[]>(name)
        {
            Description = $"{description} Default: {string.Join(",", defaults.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}.",
            HelpName = "X,...",
            DefaultValueFactory = _ => defaults,
            CustomParser = r =>
            {
                var values = new List<double>();
                foreach (string part in CliParsing.CommaSeparated(r))
                {
                    if (double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && v > 0 && double.IsFinite(v)) values.Add(v);
                    else r.AddError($"{name}: expected positive numbers, comma-separated, such as {string.Join(",", defaults.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}; got '{part}'");
                }
                return [.. values];
            },
        };
        return option;
    }
}
