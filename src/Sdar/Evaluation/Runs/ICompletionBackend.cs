using Sdar.Decoding;

namespace Sdar.Evaluation.Runs;

/// <summary>
/// One completion an evaluation asks for: sample <see cref="Sample"/> of item <see cref="Item"/>, whose prompt text is
/// <see cref="Prompt"/> (a user turn, or raw text to continue). <see cref="SeedOffset"/> is added to the run's seed,
/// so that every sample draws differently and each decodes exactly as it would alone.
/// </summary>
public sealed record CompletionJob(int Item, int Sample, string Prompt, long SeedOffset);

/// <summary>
/// A finished completion with its cost. <see cref="Nfe"/> is null when the backend cannot count forwards (a remote
/// server reports tokens, not forwards).
/// </summary>
public sealed record CompletionOutcome(CompletionJob Job, string Text, int GeneratedTokens, NfeCount? Nfe);

/// <summary>
/// What produces an evaluation's completions: the engine on a local model, or an OpenAI-compatible server.
/// Every backend runs up to <see cref="Concurrency"/> completions at once and reports each as it finishes.
/// </summary>
public interface ICompletionBackend
{
    /// <summary>What generates, as a report names it (a model folder, or an endpoint and its model).</summary>
    string Description { get; }

    /// <summary>Completions in flight at once (the engine's running sequences, or concurrent HTTP requests).</summary>
    int Concurrency { get; }

    /// <summary>
    /// Generates every job, calling <paramref name="finished"/> on the calling thread, one at a time, as each ends
    /// (in any order). A failed completion is an exception naming the job's item.
    /// </summary>
    void Run(IReadOnlyList<CompletionJob> jobs, Action<CompletionOutcome> finished, CancellationToken cancellationToken);
}
