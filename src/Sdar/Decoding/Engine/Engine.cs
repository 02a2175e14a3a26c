using System.Diagnostics;
using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>What one <see cref="Engine.Step"/> did.</summary>
/// <param name="Chunks">Answer tokens that became final in this step, per sequence (a sequence's last chunk carries its result).</param>
/// <param name="Ended">Sequences that finished or failed in this step (they have left the engine).</param>
/// <param name="Sequences">Sequences in the forward.</param>
/// <param name="Tokens">New tokens in the forward, all sequences together.</param>
public sealed record EngineStep(IReadOnlyList<GeneratedChunk> Chunks, IReadOnlyList<Sequence> Ended, int Sequences, int Tokens)
{
    public static EngineStep Idle { get; } = new([], [], 0, 0);
}

/// <summary>
/// Generation shared by many requests (continuous batching): requests join with <see cref="Add"/> and leave when
/// they finish or are aborted, and every <see cref="Step"/> runs one model forward over what the
/// <see cref="Scheduler"/> picked: denoising blocks, AR tokens and prefill chunks of sequences with different block
/// lengths, strategies and sampling, together. KV memory is a <see cref="KvPagePool"/> with a fixed budget;
/// sequences hold pages, share full prompt pages through the prefix cache, and give pages back when they end or
/// are preempted. Because the model is batch invariant, every request gets exactly the tokens it would get alone.
/// <para>One engine serves one model. Not thread-safe: drive it from one thread (a server wraps it in a loop).</para>
/// </summary>
public sealed class Engine
{
    private readonly int[] _defaultStopIds;
    private readonly Func<IReadOnlyList<int>, string>? _decode;
    private readonly Dictionary<int, Sequence> _live = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _nextId;

    /// <param name="decode">The tokenizer's decoding of token ids, which stop strings need (null: requests may not use them).</param>
    public Engine(ILanguageModel model, EngineOptions? options = null, IEnumerable<int>? defaultStopTokenIds = null,
        Func<IReadOnlyList<int>, string>? decode = null)
    {
        _decode = decode;
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new EngineOptions();
        Options.Validate();
        _defaultStopIds = defaultStopTokenIds?.ToArray() ?? [];
        KvPool = Options.CreatePool(model.Config);
        Scheduler = new Scheduler(Options, KvPool, model.Config);
    }

    public ILanguageModel Model { get; }
    public EngineOptions Options { get; }
    public KvPagePool KvPool { get; }
    public Scheduler Scheduler { get; }
    public IReadOnlyList<int> DefaultStopTokenIds => _defaultStopIds;

    /// <summary>True while any sequence waits or runs.</summary>
    public bool HasPendingWork => _live.Count > 0;

    /// <summary>Sequences waiting or running, by id.</summary>
    public IReadOnlyDictionary<int, Sequence> Sequences => _live;

    /// <summary>Forwards run, the new tokens they carried, and the time spent inside the model.</summary>
    public long Forwards { get; private set; }
    public long ForwardTokens { get; private set; }
    public TimeSpan ForwardTime { get; private set; }

    /// <summary>Time since the engine was made (the clock of <see cref="Sequence.AddedAt"/> and the results' Elapsed).</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>
    /// Queues a request; returns its id (0, 1, 2... in the order added). Options and prompt are checked here, so a bad
    /// request throws <see cref="ArgumentException"/> naming the option, and nothing is queued.
    /// </summary>
    public int Add(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Options, nameof(request.Options));
        ArgumentNullException.ThrowIfNull(request.PromptIds, nameof(request.PromptIds));
        var config = Model.Config;
        var resolved = request.Options.Resolve(config, request.PromptIds.Length);
        int id = _nextId;
        var stopIds = _defaultStopIds.Concat(request.Options.StopTokenIds ?? []).ToHashSet();
        long seed = request.Options.Seed ?? Random.Shared.NextInt64();
        var prompt = (int[])request.PromptIds.Clone();
        DecodingSequence state = config.IsDiffusion
            ? new DiffusionSequence(id, prompt, resolved, stopIds, seed, Model, _decode)
            : new AutoregressiveSequence(id, prompt, resolved, stopIds, seed, Model, _decode);
        CheckFits(state, prompt.Length);
        _nextId++;
        var sequence = new Sequence(id, prompt, request.Options, state, Now);
        _live.Add(id, sequence);
        Scheduler.Enqueue(sequence);
        return id;
    }

    public int Add(int[] promptIds, GenerationOptions options) => Add(new GenerationRequest(promptIds, options));

    /// <summary>A request must be able to run alone: its KV need within the pool and its forwards within the token cap.</summary>
    private void CheckFits(DecodingSequence state, int promptLength)
    {
        int pagesNeeded = (state.MaxPositions + KvPool.PageSize - 1) / KvPool.PageSize;
        if (pagesNeeded > KvPool.PageCount)
            throw new GenerationOptionException("max_new_tokens",
                $"at most {KvPool.CapacityTokens - promptLength} for this prompt (the engine's KV budget)", state.Options.MaxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"the prompt ({promptLength} tokens) + {GenerationOptionException.OptionPlaceholder} {state.Options.MaxNewTokens} need {state.MaxPositions} KV positions, " +
                $"but the engine's KV budget holds {KvPool.CapacityTokens} ({KvPool.PageCount} pages of {KvPool.PageSize}, {KvPool.BudgetBytes} bytes); raise the KV budget or lower max_new_tokens",
                "MaxNewTokens (max_new_tokens)");
        if (state.MinTokensPerForward > Options.MaxTokensPerForward)
            throw new GenerationOptionException("block_length",
                $"a block length whose forwards fit the engine's {Options.MaxTokensPerForward} tokens per forward", state.BlockLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"{GenerationOptionException.OptionPlaceholder} {state.BlockLength} needs forwards of {state.MinTokensPerForward} tokens, but the engine's MaxTokensPerForward is {Options.MaxTokensPerForward}",
                "BlockLength (block_length)");
    }

    /// <summary>Cancels a waiting or running request and frees its memory; false if it is not in the engine (ended or unknown).</summary>
    public bool Abort(int id)
    {
        if (!_live.Remove(id, out var sequence)) return false;
        Scheduler.Remove(sequence);
        sequence.Status = SequenceStatus.Aborted;
        sequence.EndedAt = Now;
        return true;
    }

    /// <summary>
    /// Runs one forward over what the scheduler picked and hands each sequence its logits. Returns the answer
    /// tokens that became final and the sequences that ended; <see cref="EngineStep.Idle"/> when nothing waits.
    /// </summary>
    public EngineStep Step()
    {
        if (_live.Count == 0) return EngineStep.Idle;
        var batch = Scheduler.Schedule();
        if (batch.Count == 0)
            throw new InvalidOperationException($"{_live.Count} sequences wait but none could be scheduled (KV pool {KvPool.FreePageCount}/{KvPool.PageCount} pages free)");
        var inputs = batch.Select(b => b.Input).ToArray();
        var started = Now;
        var logits = Model.Forward(inputs);
        ForwardTime += Now - started;
        Forwards++;
        int tokens = inputs.Sum(i => i.Tokens.Length);
        ForwardTokens += tokens;
        if (logits is null || logits.Length != inputs.Length)
            throw new InvalidOperationException($"model returned {logits?.Length ?? 0} logit sets for a batch of {inputs.Length}");

        var chunks = new List<GeneratedChunk>();
        var ended = new List<Sequence>();
        for (int i = 0; i < batch.Count; i++)
        {
            var (sequence, input) = batch[i];
            if (NonFinite.IndexOf(logits[i]) >= 0)
            {
                sequence.Error = LocateFault(input, logits[i]);
                End(sequence, SequenceStatus.Failed, ended);
                continue;
            }
            int before = chunks.Count;
            sequence.State.Apply(logits[i], Now - sequence.AddedAt, chunks);
            if (sequence.FirstChunkAt is null && chunks.Skip(before).Any(c => c.TokenIds.Length > 0)) sequence.FirstChunkAt = Now;
            if (sequence.State.IsFinished) End(sequence, SequenceStatus.Finished, ended);
            else Scheduler.AfterForward(sequence);
        }
        return new EngineStep(chunks, ended, batch.Count, tokens);
    }

    private void End(Sequence sequence, SequenceStatus status, List<Sequence> ended)
    {
        Scheduler.Retire(sequence);
        _live.Remove(sequence.Id);
        sequence.Status = status;
        sequence.EndedAt = Now;
        ended.Add(sequence);
    }

    /// <summary>
    /// Logits with NaN or Inf cannot be sampled from. The check above costs one pass over the logits; only when it
    /// fails is the forward run again through the model's diagnostic path, to name the layer where the non-finite
    /// values first appear. The cache is first put back as it was before the forward (a storing forward advanced it).
    /// </summary>
    private NumericalFaultException LocateFault(SequenceInput input, float[] logits)
    {
        int stored = input.StoredCount;
        if (stored > 0) input.Cache.Truncate(input.Cache.Length - stored);
        var diagnostic = input with { StoreKv = false, StoredPrefix = null, Logits = input.Logits == LogitsKind.Unstored ? LogitsKind.All : input.Logits };
        if (Model is INumericalDiagnostics diagnostics && diagnostics.LocateNonFinite(diagnostic) is { } fault)
            return new NumericalFaultException(fault);
        int index = NonFinite.IndexOf(logits);
        int row = input.FirstLogitRow + index / Model.Config.VocabSize;
        return new NumericalFaultException(new NumericalFault("lm_head", "logits", input.Cache.Length + row, logits[index]));
    }
}
