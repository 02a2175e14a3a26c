using System.Diagnostics;
using System.Runtime.CompilerServices;
using Sdar.Config;
using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Generates tokens with a stateless <see cref="ILanguageModel"/>. The engine loop is the same for both kinds of
/// decoding (schedule -> one forward over every active sequence -> postprocess): each sequence says what its next
/// forward is, the generator batches them into one <see cref="ILanguageModel.Forward"/> call (one per block length
/// present), hands each sequence its logits, and drops sequences that finished. Because the model is batch
/// invariant, a batched result equals generating the prompt alone.
/// </summary>
public abstract class Generator
{
    private readonly int[] _defaultStopIds;

    protected Generator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _defaultStopIds = defaultStopTokenIds?.ToArray() ?? [];
    }

    public ILanguageModel Model { get; }

    /// <summary>Stop ids every request gets (usually <c>generation_config.eos_token_id</c>), besides its own.</summary>
    public IReadOnlyList<int> DefaultStopTokenIds => _defaultStopIds;

    /// <summary>
    /// The generator a model needs: block diffusion for <c>sdar</c> checkpoints, AR for <c>qwen3</c> ones
    /// (<see cref="Config.ModelConfig.IsDiffusion"/>).
    /// </summary>
    /// <param name="defaultStopTokenIds">Stop ids for every request, e.g. the checkpoint's EOS ids.</param>
    public static Generator For(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Config.IsDiffusion
            ? new BlockDiffusionGenerator(model, defaultStopTokenIds)
            : new AutoregressiveGenerator(model, defaultStopTokenIds);
    }

    private protected abstract DecodingSequence CreateSequence(int index, int[] prompt, ResolvedGenerationOptions options,
        IReadOnlyCollection<int> stopIds, long seed);

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
        var sequences = new List<DecodingSequence>(requests.Count);
        var resolvedRequests = new ResolvedGenerationOptions[requests.Count];
        long requiredBytes = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            var request = requests[i] ?? throw new ArgumentException($"request {i} is null", nameof(requests));
            ArgumentNullException.ThrowIfNull(request.Options, $"requests[{i}].Options");
            ArgumentNullException.ThrowIfNull(request.PromptIds, $"requests[{i}].PromptIds");
            resolvedRequests[i] = request.Options.Resolve(Model.Config, request.PromptIds.Length);
            requiredBytes += resolvedRequests[i].RequiredBytes;
        }
        // Each request fits alone (Resolve checked it); the batch runs them together, so their sum must fit too.
        long available = ModelMemory.AvailableBytes();
        if (requests.Count > 1 && requiredBytes > available)
            throw new ArgumentException(
                $"the batch of {requests.Count} requests needs up to {requiredBytes} bytes for KV caches and activations, but this machine has {available} bytes available; run fewer at once");
        for (int i = 0; i < requests.Count; i++)
        {
            var stopIds = _defaultStopIds.Concat(requests[i].Options.StopTokenIds ?? []).ToHashSet();
            long seed = requests[i].Options.Seed ?? Random.Shared.NextInt64();
            sequences.Add(CreateSequence(i, requests[i].PromptIds, resolvedRequests[i], stopIds, seed));
        }
        return Run(sequences, cancellationToken);
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

    /// <summary>
    /// Logits with NaN or Inf cannot be sampled from. The check above costs one pass over the logits; only when it
    /// fails is the forward run again through the engine's diagnostic path, to name the layer where the non-finite
    /// values first appear. The cache is first put back as it was before the forward (a storing forward advanced it).
    /// </summary>
    private NumericalFaultException LocateFault(SequenceInput input, float[] logits, AttentionKind attention, int blockLength)
    {
        if (input.StoreKv) input.Cache.Truncate(input.Cache.Length - input.Tokens.Length);
        if (Model is INumericalDiagnostics diagnostics &&
            diagnostics.LocateNonFinite(input with { StoreKv = false }, attention, blockLength) is { } fault)
            return new NumericalFaultException(fault);
        int index = NonFinite.IndexOf(logits);
        int row = input.Logits == LogitsKind.Last ? input.Tokens.Length - 1 : index / Model.Config.VocabSize;
        return new NumericalFaultException(new NumericalFault("lm_head", "logits", input.Cache.Length + row, logits[index]));
    }

    private IEnumerable<GeneratedChunk> Run(List<DecodingSequence> sequences, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var chunks = new List<GeneratedChunk>();
        var active = new List<DecodingSequence>(sequences);
        while (active.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var group in active.GroupBy(s => (s.Attention, s.BlockLength)))
            {
                var members = group.ToArray();
                var inputs = members.Select(s => s.NextInput()).ToArray();
                var logits = Model.Forward(inputs, group.Key.Attention, group.Key.BlockLength);
                if (logits is null || logits.Length != members.Length)
                    throw new InvalidOperationException($"model returned {logits?.Length ?? 0} logit sets for a batch of {members.Length}");
                for (int i = 0; i < members.Length; i++)
                {
                    if (NonFinite.IndexOf(logits[i]) >= 0) throw LocateFault(inputs[i], logits[i], group.Key.Attention, group.Key.BlockLength);
                    members[i].Apply(logits[i], clock.Elapsed, chunks);
                }
            }
            active.RemoveAll(s => s.IsFinished);
            foreach (var chunk in chunks) yield return chunk;
            chunks.Clear();
        }
    }
}

/// <summary>Block diffusion decoding for <c>sdar</c> checkpoints (DESIGN section 4).</summary>
public sealed class BlockDiffusionGenerator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    : Generator(model, defaultStopTokenIds)
{
    private protected override DecodingSequence CreateSequence(int index, int[] prompt, ResolvedGenerationOptions options,
        IReadOnlyCollection<int> stopIds, long seed) => new DiffusionSequence(index, prompt, options, stopIds, seed, Model);
}

/// <summary>Autoregressive decoding for <c>qwen3</c> checkpoints (AR baselines and conversion inputs).</summary>
public sealed class AutoregressiveGenerator(ILanguageModel model, IEnumerable<int>? defaultStopTokenIds = null)
    : Generator(model, defaultStopTokenIds)
{
    private protected override DecodingSequence CreateSequence(int index, int[] prompt, ResolvedGenerationOptions options,
        IReadOnlyCollection<int> stopIds, long seed) => new AutoregressiveSequence(index, prompt, options, stopIds, seed, Model);
}
