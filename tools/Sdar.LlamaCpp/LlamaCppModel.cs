using LLama;
using LLama.Common;
using LLama.Native;

namespace Sdar.LlamaCpp;

/// <summary>How llama.cpp runs a model here.</summary>
/// <param name="Threads">Threads for single-token and batch decoding alike.</param>
/// <param name="ContextSize">Positions the KV cache holds (prompt + generated tokens).</param>
/// <param name="F32KvCache">Keep keys and values in F32, as Sdar does; llama.cpp's default is F16.</param>
public sealed record LlamaCppOptions(int Threads = 2, int ContextSize = 1024, bool F32KvCache = false);

/// <summary>
/// A GGUF model loaded in llama.cpp through LLamaSharp, with one sequence: greedy decoding, tokenization, and
/// single timed forwards against a filled cache. Only what the parity test and the benchmark need.
/// </summary>
public sealed class LlamaCppModel : IDisposable
{
    private static readonly object LogSetup = new();
    private static bool _logConfigured;

    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();
    private int _position;

    private LlamaCppModel(LLamaWeights weights, LLamaContext context)
    {
        _weights = weights;
        _context = context;
    }

    /// <summary>Loads <paramref name="ggufPath"/> on the CPU.</summary>
    public static LlamaCppModel Load(string ggufPath, LlamaCppOptions options)
    {
        QuietNativeLog();
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)options.ContextSize,
            BatchSize = (uint)options.ContextSize,
            UBatchSize = (uint)options.ContextSize,
            Threads = options.Threads,
            BatchThreads = options.Threads,
            GpuLayerCount = 0,
        };
        if (options.F32KvCache)
        {
            parameters.TypeK = GGMLType.GGML_TYPE_F32;
            parameters.TypeV = GGMLType.GGML_TYPE_F32;
            // The flash-attention kernel converts Q to F16; the plain path keeps the F32 products.
            parameters.FlashAttention = false;
        }
        var weights = LLamaWeights.LoadFromFile(parameters);
        try
        {
            return new LlamaCppModel(weights, weights.CreateContext(parameters));
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    public int VocabCount => _context.Vocab.Count;
    public IReadOnlyDictionary<string, string> Metadata => _weights.Metadata;

    /// <summary>llama.cpp's tokenization of <paramref name="text"/>: no BOS, special tokens parsed.</summary>
    public int[] Tokenize(string text) => _context.Tokenize(text, addBos: false, special: true).Select(t => (int)t).ToArray();

    /// <summary>
    /// Greedy decoding (argmax, the lowest id on a tie) from an empty cache: <paramref name="maxNewTokens"/> tokens, or
    /// fewer when a stop id is drawn (the stop id is included, as the model produced it).
    /// </summary>
    public int[] GenerateGreedy(IReadOnlyList<int> prompt, int maxNewTokens, IReadOnlyCollection<int> stopIds)
    {
        Reset();
        var generated = new List<int>(maxNewTokens);
        Decode(prompt, allLogits: false);
        while (generated.Count < maxNewTokens)
        {
            int next = ArgMax(_context.NativeHandle.GetLogitsIth(_batch.TokenCount - 1));
            generated.Add(next);
            if (stopIds.Contains(next) || generated.Count == maxNewTokens) break;
            Decode([next], allLogits: false);
        }
        return [.. generated];
    }

    /// <summary>Empties the cache, then stores <paramref name="tokens"/> at positions 0.. (no logits).</summary>
    public void Prefill(IReadOnlyList<int> tokens)
    {
        Reset();
        Decode(tokens, allLogits: false);
    }

    /// <summary>
    /// One forward of <paramref name="tokens"/> after the prefilled cache with every logits row, as Sdar's benchmark
    /// forward: their keys and values are removed again, so the next call sees the same cache.
    /// </summary>
    public void ForwardAndForget(IReadOnlyList<int> tokens)
    {
        int start = _position;
        Decode(tokens, allLogits: true);
        _context.NativeHandle.MemorySequenceRemove(LLamaSeqId.Zero, start, -1);
        _position = start;
    }

    private void Reset()
    {
        _context.NativeHandle.MemoryClear(true);
        _position = 0;
    }

    private void Decode(IReadOnlyList<int> tokens, bool allLogits)
    {
        _batch.Clear();
        for (int i = 0; i < tokens.Count; i++)
            _batch.Add(tokens[i], _position + i, LLamaSeqId.Zero, allLogits || i == tokens.Count - 1);
        var result = _context.NativeHandle.Decode(_batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}");
        _position += tokens.Count;
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>llama.cpp logs every tensor it loads; only its warnings and errors are worth printing.</summary>
    private static void QuietNativeLog()
    {
        lock (LogSetup)
        {
            if (_logConfigured) return;
            _logConfigured = true;
            if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
                NativeLibraryConfig.All.WithLogCallback((level, message) =>
                {
                    if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error) Console.Error.Write($"llama.cpp: {message}");
                });
        }
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
