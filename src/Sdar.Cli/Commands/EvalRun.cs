using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Decoding;
using Sdar.Evaluation;
using Sdar.Evaluation.Execution;
using Sdar.Evaluation.Runs;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar eval</c> with a model: generates every item's answers (a local model through the engine, or a remote
/// OpenAI-compatible server), scores them as they finish, keeps the resumable predictions file, and prints accuracy
/// with NFE, tokens per forward and tokens per second; with <c>--compare-ar</c> also the AR model's run and the speed-up.
/// </summary>
internal static class EvalRun
{
    public sealed record Request(
        string Benchmark, string Data, int? Limit, int Shots, string? ShotsData, int Samples, int[] PassAtK, ulong ChoiceSeed,
        string? Model, string? Endpoint, string? ApiKey, string? EndpointModel, string? CompareAr,
        int Concurrency, bool Chat, GenerationOptions Options, Dictionary<string, JsonNode?> DecodingFields, EngineOptions EngineOptions,
        string? Predictions, bool Restart, bool Json, Sdar.Model.Kernels.KernelSettings? Kernels = null);

    public static int Run(Request request, TextWriter output, TextWriter error, JsonSerializerOptions jsonOptions, CancellationToken cancellation)
    {
        // Checked and locked first, so that an unusable path fails at once, not after the whole evaluation.
        using var predictionsLock = request.Predictions is null ? null : Sdar.IO.OutputPaths.ClaimFile(request.Predictions, "--predictions");
        var plan = Plan(request);
        var items = plan.Items;

        // The AR model is checked before the long run, not after it.
        using var arModel = request.CompareAr is null ? null : LoadedModel.Open(request.CompareAr, kernels: request.Kernels);
        CliParsing.Require(arModel is null || !arModel.Config.IsDiffusion,
            $"--compare-ar {arModel?.Directory}: expected an autoregressive model (its config.json has block_size, so it is an SDAR model)");
        using var loaded = request.Model is null ? null : LoadedModel.Open(request.Model, kernels: request.Kernels);
        if (loaded is not null) GenerationFlags.Validate(request.Options, loaded.Config);
        using var endpoint = request.Endpoint is null ? null
            : EndpointBackend.Connect(request.Endpoint, request.ApiKey, request.EndpointModel, request.Options, request.Concurrency, request.Chat, request.DecodingFields);
        ICompletionBackend backend = loaded is not null
            ? new EngineBackend(loaded, request.Options, request.Concurrency, request.Chat, request.EngineOptions)
            : endpoint!;
        using var log = request.Predictions is null ? null
            : PredictionsLog.Open(request.Predictions, Settings(request, backend), items.Count, request.Samples, request.Restart);
        if (log is not null) SayContinuing(log, request.Predictions!, items.Count * request.Samples, error);
        // Side by side, neither run may pay the other's start-up (JIT, first allocations): each decodes one item untimed first.
        if (arModel is not null && items.Count > 0) Warm(plan, backend, cancellation);
        var result = Evaluate(plan, backend, log, error, cancellation);

        EvaluationResult? ar = null;
        if (arModel is not null)
        {
            error.WriteLine($"decoding the same items with the AR model {arModel.Directory} at concurrency {request.Concurrency}...");
            var arBackend = new EngineBackend(arModel, request.Options, request.Concurrency, request.Chat, request.EngineOptions);
            Warm(plan, arBackend, cancellation);
            ar = Evaluate(plan, arBackend, null, error, cancellation);
        }
        string decoding = loaded is null ? "remote" : loaded.Config.IsDiffusion ? "block_diffusion" : "autoregressive";
        output.WriteLine(request.Json
            ? JsonSerializer.Serialize(Summary(request, loaded, decoding, result, ar), jsonOptions)
            : Text(request, loaded, decoding, result, ar));
        return 0;
    }

    internal static EvaluationResult Evaluate(EvaluationPlan plan, ICompletionBackend backend, PredictionsLog? log, TextWriter error, CancellationToken cancellation)
    {
        var bar = new EvalProgressBar(error, Console.IsErrorRedirected);
        try
        {
            return GenerationFlags.InFlagTerms(() => BenchmarkEvaluation.Run(plan, backend, log, bar.Report, cancellation));
        }
        finally
        {
            bar.Finish();
        }
    }

    internal static void SayContinuing(PredictionsLog log, string path, int total, TextWriter error)
    {
        if (log.Done.Count > 0)
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"continuing {path}: {log.Done.Count} of {total} completions are done{(log.DroppedIncompleteLine ? " (an incomplete last line was dropped)" : "")}"));
    }

    internal static void Warm(EvaluationPlan plan, ICompletionBackend backend, CancellationToken cancellation) =>
        GenerationFlags.InFlagTerms(() =>
        {
            backend.Run([new CompletionJob(0, 0, plan.Benchmark.Prompt(plan.Items[0], plan.Shots), 0)], _ => { }, cancellation);
            return 0;
        });

    /// <summary>
    /// The benchmark, its items (after --limit) and few-shot examples, checked before any model loads: the code
    /// sandbox, the first prompt (a benchmark refusing worked examples says so now) and --samples against the temperature.
    /// </summary>
    internal static EvaluationPlan Plan(Request request)
    {
        var data = Benchmarks.Get(request.Benchmark, request.ChoiceSeed);
        var benchmark = data as IBenchmark ?? new CodeExecutionBenchmark(data, new PythonSandbox());
        var items = benchmark.Read(request.Data);
        if (request.Limit is { } limit) items = [.. items.Take(limit)];
        var shots = Shots(benchmark, request);
        if (items.Count > 0) benchmark.Prompt(items[0], shots);
        CliParsing.Require(request.Samples == 1 || request.Options.Temperature > 0,
            $"--samples {request.Samples}: needs --temperature above 0 (greedy decoding would give {request.Samples} equal answers)");
        return new EvaluationPlan(benchmark, items, shots, request.Samples, request.PassAtK);
    }

    internal static IReadOnlyList<BenchmarkItem> Shots(IBenchmark benchmark, Request request)
    {
        if (request.Shots == 0) return [];
        CliParsing.Require(request.ShotsData is not null, $"--shots {request.Shots}: needs --shots-data FILE, the dev or train file the worked examples come from");
        if (!File.Exists(request.ShotsData)) throw new FileNotFoundException($"--shots-data: {Path.GetFullPath(request.ShotsData!)}: file not found");
        var dev = benchmark.Read(request.ShotsData!);
        CliParsing.Require(dev.Count >= request.Shots, $"--shots {request.Shots}: --shots-data {request.ShotsData} has only {dev.Count} items");
        return [.. dev.Take(request.Shots)];
    }

    /// <summary>What makes two runs the same run, for continuing a predictions file: every input to the answers.</summary>
    internal static Dictionary<string, string> Settings(Request request, ICompletionBackend backend)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["benchmark"] = request.Benchmark,
            ["data"] = Path.GetFullPath(request.Data),
            ["data_sha256"] = Sha256(request.Data),
            ["limit"] = request.Limit?.ToString(CultureInfo.InvariantCulture) ?? "all",
            ["generator"] = backend.Description,
            ["chat"] = request.Chat ? "true" : "false",
            ["samples"] = request.Samples.ToString(CultureInfo.InvariantCulture),
            ["shots"] = request.Shots.ToString(CultureInfo.InvariantCulture),
            ["options"] = JsonSerializer.Serialize(request.Options),
            ["decoding_fields"] = JsonSerializer.Serialize(request.DecodingFields),
            ["choice_seed"] = request.ChoiceSeed.ToString(CultureInfo.InvariantCulture),
        };
        if (request.Shots > 0) settings["shots_data_sha256"] = Sha256(request.ShotsData!);
        if (request.Model is { } model && File.Exists(Path.Combine(model, "model.safetensors")))
            settings["weights_modified"] = File.GetLastWriteTimeUtc(Path.Combine(model, "model.safetensors")).ToString("O", CultureInfo.InvariantCulture);
        return settings;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static Dictionary<string, object?> Summary(Request request, LoadedModel? loaded, string decoding, EvaluationResult result, EvaluationResult? ar)
    {
        var report = result.Report;
        var m = result.Metrics;
        var summary = new Dictionary<string, object?>
        {
            ["benchmark"] = report.Benchmark, ["data"] = Path.GetFullPath(request.Data),
            ["model"] = loaded?.Directory, ["endpoint"] = request.Endpoint is null ? null : result.Backend,
            ["decoding"] = decoding,
        };
        if (loaded is null || loaded.Config.IsDiffusion)
        {
            summary["strategy"] = request.Options.Strategy;
            summary["block_length"] = request.Options.BlockLength ?? loaded?.Config.BlockSize;
            summary["threshold"] = request.Options.ConfidenceThreshold;
        }
        EvalScoring.AddScores(summary, report);
        AddCost(summary, m);
        if (ar is not null)
        {
            var arSummary = new Dictionary<string, object?> { ["model"] = ar.Backend, ["accuracy"] = Math.Round(ar.Report.Accuracy, 4) };
            AddCost(arSummary, ar.Metrics);
            summary["compare_ar"] = arSummary;
            summary["speedup"] = EvaluationSweep.Speedup(result, ar) is { } s ? Math.Round(s, 3) : null;
        }
        return summary;
    }

    private static void AddCost(Dictionary<string, object?> summary, EvaluationMetrics m)
    {
        summary["tokens_per_forward"] = m.TokensPerForward is { } tpf ? Math.Round(tpf, 3) : null;
        summary["tokens_per_second"] = Math.Round(m.TokensPerSecond, 1);
        summary["nfe_denoise"] = m.DenoisingForwards;
        summary["nfe_total"] = m.TotalForwards;
        summary["generated_tokens"] = m.GeneratedTokens;
        summary["seconds"] = Math.Round(m.Elapsed.TotalSeconds, 2);
        summary["concurrency"] = m.Concurrency;
        summary["resumed"] = m.Resumed;
    }

    private static string Text(Request request, LoadedModel? loaded, string decoding, EvaluationResult result, EvaluationResult? ar)
    {
        var report = result.Report;
        var parts = EvalScoring.ScoreParts(report);
        parts.Add(Cost(result.Metrics));
        string how = loaded is null ? $"via {result.Backend}" : loaded.Config.IsDiffusion ? $"block_diffusion {request.Options.Strategy}" : decoding;
        string text = $"{report.Benchmark} ({how}): {string.Join(", ", parts)}";
        if (ar is not null)
            text += Environment.NewLine + string.Create(CultureInfo.InvariantCulture,
                $"autoregressive {ar.Backend}: accuracy {ar.Report.Accuracy:P1}, {Cost(ar.Metrics)}; speed-up {EvaluationSweep.Speedup(result, ar):F2}x");
        return text;
    }

    private static string Cost(EvaluationMetrics m)
    {
        string tpf = m.TokensPerForward is { } t ? string.Create(CultureInfo.InvariantCulture, $"{t:F2} tokens/forward, ") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{tpf}{m.TokensPerSecond:F0} tokens/s (concurrency {m.Concurrency}), {m.Elapsed.TotalSeconds:F1} s")
            + (m.Resumed > 0 ? $", {m.Resumed} completions resumed" : "");
    }
}
