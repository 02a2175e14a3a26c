using System.CommandLine;
using System.Globalization;
using Sdar.Checkpoints;
using Sdar.Export;
using Sdar.LlamaCpp;
using Sdar.Model;
using Sdar.Model.Kernels;
using Sdar.Runtime;

// sdar-llamacpp: Sdar and llama.cpp side by side (see SideBySideBenchmark). A console tool, not part of `sdar`,
// so that the CLI and the library never load native llama.cpp.
var shape = new Option<string>("--shape") { Description = $"Random model shape for the forward cases: {string.Join(", ", ModelShapes.Names)}.", DefaultValueFactory = _ => "sdar-1.7b" };
shape.AcceptOnlyFromAmong([.. ModelShapes.Names]);
var weights = new Option<string>("--weights") { Description = "Weight formats, comma-separated, each run by both engines on the same weights: bf16, q8 (Sdar q8 / llama.cpp Q8_0), q4 (Sdar q4 / llama.cpp Q4_0).", DefaultValueFactory = _ => "bf16,q8,q4" };
var tokens = new Option<string>("--tokens") { Description = "New tokens per forward (T), comma-separated.", DefaultValueFactory = _ => "1,4,16" };
var cache = new Option<int>("--cache") { Description = "Cached tokens each forward attends to.", DefaultValueFactory = _ => 512 };
var rounds = new Option<int>("--rounds") { Description = "Timed forwards per case and engine, alternating (medians reported).", DefaultValueFactory = _ => 5 };
var threads = new Option<int>("--threads") { Description = "Threads for both engines.", DefaultValueFactory = _ => Environment.ProcessorCount };
var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder for the random model's GGUF (default: the repository's tests/fixtures/qwen3-tokenizer)." };
var arModel = new Option<string?>("--ar-model") { Description = "AR checkpoint for the tokens/s comparison (default: the bundled sdar-mini-ar)." };
var arTokens = new Option<int>("--ar-tokens") { Description = "Tokens each AR run generates (no stop ids).", DefaultValueFactory = _ => 64 };
var arRounds = new Option<int>("--ar-rounds") { Description = "Timed AR runs per engine, alternating.", DefaultValueFactory = _ => 3 };
var skipForwards = new Option<bool>("--skip-forwards") { Description = "Only compare AR decoding." };
var activations = new Option<string>("--activations") { Description = "What Sdar's q8 / q4 products multiply: auto (float for q8, int8 for q4, as the engine does by default), int8 or float.", DefaultValueFactory = _ => "auto" };
activations.AcceptOnlyFromAmong("auto", "int8", "float");

var root = new RootCommand("Sdar and llama.cpp (LLamaSharp, CPU) side by side: forward latency on a random model of a real shape, and AR tokens/s of a checkpoint.")
{
    shape, weights, tokens, cache, rounds, threads, tokenizer, arModel, arTokens, arRounds, skipForwards, activations,
};
root.SetAction(parse =>
{
    int threadCount = parse.GetValue(threads);
    if (threadCount < 1 || parse.GetValue(rounds) < 1 || parse.GetValue(cache) < 0 || parse.GetValue(arTokens) < 1 || parse.GetValue(arRounds) < 1)
        throw new ArgumentException("--threads, --rounds, --ar-tokens and --ar-rounds must be at least 1, --cache at least 0");
    string work = Path.Combine(Path.GetTempPath(), "sdar-llamacpp-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(work);
    try
    {
        var options = new SideBySideOptions
        {
            Shape = parse.GetValue(shape)!,
            Weights = parse.GetValue(weights)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(w => WeightFormatNames.Parse(w, "--weights")).Distinct().ToArray(),
            Tokens = parse.GetValue(tokens)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(t => int.TryParse(t, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : throw new ArgumentException($"--tokens: expected positive integers such as 1,4,16; got '{t}'")).ToArray(),
            Cache = parse.GetValue(cache),
            Rounds = parse.GetValue(rounds),
            Threads = threadCount,
            Activations = parse.GetValue(activations) switch
            {
                "int8" => QuantizedActivations.Int8,
                "float" => QuantizedActivations.Float,
                _ => QuantizedActivations.Auto,
            },
            TokenizerDirectory = parse.GetValue(tokenizer) ?? FindQwen3Tokenizer(),
            ArModelDirectory = parse.GetValue(arModel) ?? BundledModels.Locate(BundledModels.ParentName),
            ArNewTokens = parse.GetValue(arTokens),
            ArRounds = parse.GetValue(arRounds),
            WorkDirectory = work,
        };
        var bench = new SideBySideBenchmark(options, Console.Error);
        if (!parse.GetValue(skipForwards))
        {
            if (options.Weights.Count == 0) throw new ArgumentException("--weights: expected at least one of bf16, q8, q4");
            var forwards = bench.CompareForwards();
            Console.WriteLine($"forward latency: random {options.Shape} shape as qwen3, the same weights in both engines (Sdar bf16 / q8 / q4 = GGUF BF16 / Q8_0 / Q4_0; Sdar's q8 on {(options.Kernels.Int8ActivationsFor(DType.Q8_0) ? "int8" : "float")} activations, q4 on {(options.Kernels.Int8ActivationsFor(DType.Q4_0) ? "int8" : "float")}), {threadCount} threads, median of {options.Rounds} alternating rounds, ms per forward");
            Console.WriteLine($"{"T",4} {"cache",6} {"weights",8} {"sdar ms",10} {"llama.cpp ms",13} {"sdar/llama.cpp",15} {"best: sdar ms",14} {"llama.cpp ms",13} {"sdar/llama.cpp",15}");
            foreach (var f in forwards.OrderBy(f => f.Tokens).ThenBy(f => options.Weights.ToList().IndexOf(f.Weights)))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{f.Tokens,4} {f.Cache,6} {WeightFormatNames.Name(f.Weights),8} {f.SdarMs,10:F1} {f.LlamaMs,13:F1} {f.SdarMs / f.LlamaMs,15:F2} {f.SdarBestMs,14:F1} {f.LlamaBestMs,13:F1} {f.SdarBestMs / f.LlamaBestMs,15:F2}"));
        }
        var ar = bench.CompareArDecoding();
        Console.WriteLine($"AR greedy decoding: {options.ArModelDirectory}, prompt {ar.PromptTokens} tokens + {ar.NewTokens} new (prefill included), {threadCount} threads, median of {options.ArRounds} alternating runs");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  sdar {ar.SdarTokensPerSecond:F1} tokens/s, llama.cpp {ar.LlamaTokensPerSecond:F1} tokens/s, sdar/llama.cpp {ar.SdarTokensPerSecond / ar.LlamaTokensPerSecond:F2}"));
        return 0;
    }
    finally
    {
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
    }
});
try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is Sdar.SdarException or ArgumentException or IOException)
{
    Console.Error.WriteLine($"sdar-llamacpp: error: {e.Message}");
    return 2;
}

static string FindQwen3Tokenizer()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "qwen3-tokenizer");
        if (File.Exists(Path.Combine(candidate, "tokenizer.json"))) return candidate;
    }
    throw new ArgumentException($"--tokenizer: not given, and tests/fixtures/qwen3-tokenizer was not found above {AppContext.BaseDirectory}");
}
