using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Templates;

namespace Sdar.Evaluation.Runs;

/// <summary>
/// Completions from a local model through the engine with continuous batching: up to <see cref="Concurrency"/>
/// sequences decode together, and a finished answer's slot goes to the next job at once. Each job keeps its own seed,
/// so its answer is the one it would get alone, whatever the concurrency.
/// </summary>
public sealed class EngineBackend : ICompletionBackend
{
    private readonly LoadedModel _model;
    private readonly GenerationOptions _options;
    private readonly EngineOptions _engineOptions;
    private readonly bool _chat;

    /// <param name="chat">Put each prompt to the model as a one-turn chat (thinking off), as in SFT data; else as raw text.</param>
    public EngineBackend(LoadedModel model, GenerationOptions options, int concurrency, bool chat = true, EngineOptions? engineOptions = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _model = model;
        _options = options;
        _chat = chat;
        Concurrency = concurrency;
        _engineOptions = (engineOptions ?? new EngineOptions()) with { MaxRunningSequences = concurrency };
    }

    public string Description => _model.Directory;

    public int Concurrency { get; }

    public void Run(IReadOnlyList<CompletionJob> jobs, Action<CompletionOutcome> finished, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(finished);
        var engine = _model.CreateEngine(_engineOptions);
        var jobOfSequence = new Dictionary<int, CompletionJob>();
        // Every job is queued (and so checked against the model's context and the KV budget) before the first
        // forward, so a prompt too long for the model is named at once instead of failing half-way through.
        foreach (var job in jobs)
        {
            var options = _options.Seed is { } seed ? _options with { Seed = seed + job.SeedOffset } : _options;
            try
            {
                jobOfSequence[engine.Add(new GenerationRequest(PromptIds(_model, job.Prompt, _chat), options))] = job;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"item {job.Item} of the data: {e.Message}", e);
            }
        }
        while (engine.HasPendingWork)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var sequence in engine.Step().Ended)
            {
                if (sequence.Status == SequenceStatus.Failed) throw sequence.Error!;
                var result = sequence.Result!;
                string text = _model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
                finished(new CompletionOutcome(jobOfSequence[sequence.Id], text, result.GeneratedTokenCount, result.Nfe));
            }
        }
    }

    /// <summary>The prompt ids for a text: a user turn with the generation prompt (thinking off), or the raw text.</summary>
    public static int[] PromptIds(LoadedModel model, string text, bool chat)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!chat) return model.Tokenizer.Encode(text).ToArray();
        string rendered = model.RenderChat([ChatMessages.Message("user", text)], addGenerationPrompt: true, enableThinking: false);
        return model.Tokenizer.Encode(rendered).ToArray();
    }
}
