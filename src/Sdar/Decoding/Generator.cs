using System.Runtime.CompilerServices;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Generates a fixed list of requests with a stateless <see cref="ILanguageModel"/>: a thin loop over an
/// <see cref="Engine"/> made for the call (every request admitted at once, prompts never chunked), stepping it
/// until all have finished. Because the model is batch invariant, a batched result equals generating the prompt
/// alone. Long-running callers that add and cancel requests as they come (a server, the evaluation harness) drive
/// an <see cref="Engine"/> themselves.
/// </summary>
public class Generator
{
    private readonly int[] _defaultStopIds;

    public Generator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _defaultStopIds = defaultStopTokenIds?.ToArray() ?? [];
    }

    public ILanguageModel Model { get; }

    /// <summary>Stop ids every request gets (usually <c>generation_config.eos_token_id</c>), besides its own.</summary>
    public IReadOnlyList<int> DefaultStopTokenIds => _defaultStopIds;

    /// <summary>
    /// The engine settings of each call; null = every request of a call runs at once, prefills are not chunked,
    /// and the KV budget is the engine's default.
    /// </summary>
    public EngineOptions? EngineOptions { get; init; }

    /// <summary>The tokenizer's decoding of token ids, which stop strings need (<see cref="GenerationOptions.StopStrings"/>).</summary>
    public Func<IReadOnlyList<int>, string>? Decode { get; init; }

    /// <summary>
    /// The generator a model needs: block diffusion for <c>sdar</c> checkpoints, AR for <c>qwen3</c> ones
    /// (<see cref="Config.ModelConfig.IsDiffusion"/>; the engine picks the decoding from the config).
    /// </summary>
    /// <param name="defaultStopTokenIds">Stop ids for every request, e.g. the checkpoint's EOS ids.</param>
    /// <param name="decode">The tokenizer's decoding, for stop strings.</param>
    public static Generator For(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null, Func<IReadOnlyList<int>, string>? decode = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Config.IsDiffusion
            ? new BlockDiffusionGenerator(model, defaultStopTokenIds) { Decode = decode }
            : new AutoregressiveGenerator(model, defaultStopTokenIds) { Decode = decode };
    }

    /// <summary>Generates the answer to one prompt.</summary>
    public GenerationResult Generate(int[] promptIds, GenerationOptions options, CancellationToken cancellationToken = default) =>
        GenerateBatch([new GenerationRequest(promptIds, options)], cancellationToken)[0];

    /// <summary>Generates several prompts together with the same options; results in prompt order.</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<int[]> prompts, GenerationOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return GenerateBatch(prompts.Select(p => new GenerationRequest(p, options)).ToArray(), cancellationToken);
    }

    /// <summary>Generates several requests together, each with its own options; results in request order.</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        var results = new GenerationResult[requests?.Count ?? 0];
        foreach (var chunk in Stream(requests!, cancellationToken))
            if (chunk.Result is not null) results[chunk.SequenceIndex] = chunk.Result;
        return results;
    }

    /// <summary>Streams one prompt: a chunk per block (AR: per token) as soon as it is final, the last one with the result.</summary>
    public IEnumerable<GeneratedChunk> Stream(int[] promptIds, GenerationOptions options, CancellationToken cancellationToken = default) =>
        Stream([new GenerationRequest(promptIds, options)], cancellationToken);

    /// <summary>
    /// Streams a batch; chunks carry their request's index. Options and prompts are validated here, before the
    /// first chunk is asked for, so a bad request throws <see cref="ArgumentException"/> at the call.
    /// </summary>
    public IEnumerable<GeneratedChunk> Stream(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var engine = new Engine(Model, EngineOptions ?? new EngineOptions
        {
            MaxRunningSequences = Math.Max(1, requests.Count),
            MaxTokensPerForward = int.MaxValue,
        }, _defaultStopIds, Decode);
        for (int i = 0; i < requests.Count; i++)
        {
            var request = requests[i] ?? throw new ArgumentException($"request {i} is null", nameof(requests));
            ArgumentNullException.ThrowIfNull(request.Options, $"requests[{i}].Options");
            ArgumentNullException.ThrowIfNull(request.PromptIds, $"requests[{i}].PromptIds");
            engine.Add(request);   // ids are 0, 1, 2... in this order: the request's index
        }
        return Run(engine, cancellationToken);
    }

    /// <summary>
    /// <see cref="Stream(int[], GenerationOptions, CancellationToken)"/> for async callers (a server): each step's
    /// forward runs on the thread pool, so the caller's thread is free while the model computes.
    /// </summary>
    public IAsyncEnumerable<GeneratedChunk> StreamAsync(int[] promptIds, GenerationOptions options, CancellationToken cancellationToken = default) =>
        StreamAsync([new GenerationRequest(promptIds, options)], cancellationToken);

    public async IAsyncEnumerable<GeneratedChunk> StreamAsync(IReadOnlyList<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var chunks = Stream(requests, cancellationToken).GetEnumerator();
        while (await Task.Run(chunks.MoveNext, cancellationToken).ConfigureAwait(false))
            yield return chunks.Current;
    }

    private static IEnumerable<GeneratedChunk> Run(Engine engine, CancellationToken cancellationToken)
    {
        while (engine.HasPendingWork)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = engine.Step();
            foreach (var sequence in step.Ended)
                if (sequence.Status == SequenceStatus.Failed) throw sequence.Error!;
            foreach (var chunk in step.Chunks) yield return chunk;
        }
    }
}

/// <summary>Block diffusion decoding for <c>sdar</c> checkpoints (DESIGN section 4).</summary>
public sealed class BlockDiffusionGenerator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    : Generator(model, defaultStopTokenIds);

/// <summary>Autoregressive decoding for <c>qwen3</c> checkpoints (AR baselines and conversion inputs).</summary>
public sealed class AutoregressiveGenerator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    : Generator(model, defaultStopTokenIds);
