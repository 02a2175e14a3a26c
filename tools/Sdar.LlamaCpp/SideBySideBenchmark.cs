using System.Diagnostics;
using Sdar.Bench;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Export;
using Sdar.Model;
using Sdar.Model.Kernels;
using Sdar.Runtime;

namespace Sdar.LlamaCpp;

/// <summary>What to compare, and how often.</summary>
public sealed record SideBySideOptions
{
    public string Shape { get; init; } = "sdar-1.7b";
    /// <summary>
    /// The weight formats to compare, each in both engines: BF16 against llama.cpp's BF16, Q8_0 and Q4_0 (Sdar's
    /// quantization of the BF16 weights) against the same packed weights in llama.cpp's Q8_0 and Q4_0.
    /// </summary>
    public IReadOnlyList<DType> Weights { get; init; } = [DType.BF16, DType.Q8_0, DType.Q4_0];
    public IReadOnlyList<int> Tokens { get; init; } = [1, 4, 16];
    public int Cache { get; init; } = 512;
    public int Rounds { get; init; } = 5;
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>What Sdar's q8 / q4 products multiply (by default the faster kind of each: float for q8, int8 for q4).</summary>
    public QuantizedActivations Activations { get; init; } = QuantizedActivations.Auto;
    /// <summary>Sdar's kernel settings for these options.</summary>
    public KernelSettings Kernels => KernelSettings.Default with { Threads = Threads, Activations = Activations };
    /// <summary>A tokenizer folder with the shape's vocabulary (the Qwen3 tokenizer), embedded in the random model's GGUF.</summary>
    public required string TokenizerDirectory { get; init; }
    public required string ArModelDirectory { get; init; }
    public int ArNewTokens { get; init; } = 64;
    public int ArRounds { get; init; } = 3;
    public string ArPrompt { get; init; } = "Once upon a time";
    /// <summary>Where the GGUF files go while the benchmark runs (deleted afterwards).</summary>
    public required string WorkDirectory { get; init; }
}

/// <summary>Medians and bests (the least disturbed run, on a shared machine) of one forward case in one weight format.</summary>
public sealed record ForwardComparison(DType Weights, int Tokens, int Cache, double SdarMs, double LlamaMs, double SdarBestMs, double LlamaBestMs);
public sealed record ArComparison(int PromptTokens, int NewTokens, double SdarTokensPerSecond, double LlamaTokensPerSecond);

/// <summary>
/// Sdar and llama.cpp on the same weights in one process, timed alternately (one Sdar forward, one llama.cpp forward,
/// round after round) so that a shared machine's drift hits both alike:
/// <list type="number">
/// <item>the forwards of <c>sdar bench</c> (<see cref="ForwardBenchmark.CreateCase"/>: T new tokens against a cache
/// of C tokens, every logits row) on a random model of a released shape, run as an AR (causal) qwen3 model in both
/// engines; llama.cpp gets the same weights exported to GGUF and its cache filled by a prefill of C tokens; each
/// weight format in turn (BF16, then Sdar's Q8_0 and Q4_0 quantization of those weights, exported to GGUF without
/// a change: <see cref="GgufExporter"/> re-packs them), one pair of engines in memory at a time;</item>
/// <item>greedy AR decoding of a real checkpoint (prefill included) in tokens per second.</item>
/// </list>
/// Medians (and for forwards the best runs) are reported. llama.cpp runs with its defaults (F16 KV cache) and the same thread count.
/// </summary>
public sealed class SideBySideBenchmark(SideBySideOptions options, TextWriter log)
{
    public IReadOnlyList<ForwardComparison> CompareForwards()
    {
        var config = ModelShapes.Get(options.Shape) with { ModelType = "qwen3", BlockSize = 0, MaskTokenId = null };
        log.WriteLine($"building a random BF16 {options.Shape} model (as qwen3) in memory...");
        var bf16 = RandomModel.Create(config, DType.BF16, seed: 1);
        var vocabulary = GgufVocabulary.FromTokenizer(options.TokenizerDirectory, config.VocabSize, config, GenerationConfig.Empty);
        var results = new List<ForwardComparison>();
        foreach (var format in options.Weights)
        {
            if (format != DType.BF16) log.WriteLine($"quantizing it to {format}...");
            results.AddRange(CompareForwards(format == DType.BF16 ? bf16 : WeightQuantizer.Quantize(bf16, format), format, vocabulary));
            // The quantized copy is garbage now; its native buffers go with their finalizers, before the next pair loads.
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return results;
    }

    private List<ForwardComparison> CompareForwards(ModelWeights weights, DType format, GgufVocabulary vocabulary)
    {
        var type = format switch
        {
            DType.Q8_0 => GgufOutputType.Q8_0,
            DType.Q4_0 => GgufOutputType.Q4_0,
            _ => GgufOutputType.BF16,
        };
        string gguf = Path.Combine(options.WorkDirectory, $"{options.Shape}-random-{type.ToString().ToLowerInvariant()}.gguf");
        log.WriteLine($"exporting it to {gguf}...");
        GgufExporter.Export(weights, vocabulary, $"random {options.Shape}", gguf, type);
        try
        {
            var bench = new ForwardBenchmark(weights, options.Kernels);
            int longest = options.Tokens.Max();
            using var llama = LlamaCppModel.Load(gguf, new LlamaCppOptions(options.Threads, ContextSize: RoundUp(options.Cache + longest, 256)));
            var random = new Random(11);
            int vocabSize = weights.Config.VocabSize;
            llama.Prefill(Enumerable.Range(0, options.Cache).Select(_ => random.Next(vocabSize)).ToArray());
            var results = new List<ForwardComparison>();
            foreach (int tokens in options.Tokens)
            {
                var sdarCase = bench.CreateCase(tokens, options.Cache);
                int[] ids = Enumerable.Range(0, tokens).Select(_ => random.Next(vocabSize)).ToArray();
                sdarCase.Run();
                llama.ForwardAndForget(ids);   // warm-up, both
                var sdarTimes = new List<double>();
                var llamaTimes = new List<double>();
                for (int round = 0; round < options.Rounds; round++)
                {
                    sdarTimes.Add(Time(sdarCase.Run));
                    llamaTimes.Add(Time(() => llama.ForwardAndForget(ids)));
                }
                var result = new ForwardComparison(format, tokens, options.Cache, Median(sdarTimes), Median(llamaTimes), sdarTimes.Min(), llamaTimes.Min());
                log.WriteLine($"  {format} T={tokens}: sdar {string.Join(' ', sdarTimes.Select(F1))} ms; llama.cpp {string.Join(' ', llamaTimes.Select(F1))} ms");
                results.Add(result);
            }
            return results;
        }
        finally
        {
            File.Delete(gguf);
        }
    }

    public ArComparison CompareArDecoding()
    {
        using var sdar = LoadedModel.Open(options.ArModelDirectory, kernels: options.Kernels);
        string gguf = Path.Combine(options.WorkDirectory, "ar-model.gguf");
        // The checkpoint's own precision (BF16 for the bundled model) in both engines.
        var type = sdar.Weights.EmbedTokens.DType == DType.F32 ? GgufOutputType.F32 : GgufOutputType.BF16;
        GgufExporter.ExportFolder(options.ArModelDirectory, gguf, type);
        try
        {
            int[] prompt = [.. sdar.Tokenizer.Encode(options.ArPrompt)];
            // No stop ids: both engines generate exactly ArNewTokens tokens.
            var generator = Generator.For(sdar.Model);
            var greedy = new GenerationOptions { MaxNewTokens = options.ArNewTokens, Temperature = 0 };
            using var llama = LlamaCppModel.Load(gguf, new LlamaCppOptions(options.Threads, ContextSize: RoundUp(prompt.Length + options.ArNewTokens, 256)));
            generator.Generate(prompt, greedy);
            llama.GenerateGreedy(prompt, options.ArNewTokens, []);
            var sdarRates = new List<double>();
            var llamaRates = new List<double>();
            for (int round = 0; round < options.ArRounds; round++)
            {
                int sdarTokens = 0, llamaTokens = 0;
                double sdarMs = Time(() => sdarTokens = generator.Generate(prompt, greedy).TokenIds.Length);
                double llamaMs = Time(() => llamaTokens = llama.GenerateGreedy(prompt, options.ArNewTokens, []).Length);
                sdarRates.Add(sdarTokens / (sdarMs / 1e3));
                llamaRates.Add(llamaTokens / (llamaMs / 1e3));
            }
            return new ArComparison(prompt.Length, options.ArNewTokens, Median(sdarRates), Median(llamaRates));
        }
        finally
        {
            File.Delete(gguf);
        }
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    private static string F1(double value) => value.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
