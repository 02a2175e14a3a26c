namespace Sdar.Decoding;

/// <summary>Why a sequence stopped.</summary>
public enum StopReason
{
    /// <summary>A stop id appeared in the generated part; the answer ends before it.</summary>
    StopToken,
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    Length,
    /// <summary>A stop string (<see cref="GenerationOptions.StopStrings"/>) appeared; the answer ends right before it.</summary>
    StopString,
}

/// <summary>Forward passes of the model spent on one sequence (DESIGN section 4, "Metrics").</summary>
/// <param name="Denoise">Forwards that produced logits to sample from: denoising steps (diffusion), every forward (AR).</param>
/// <param name="Total">All forwards: also the prefill and the commit forward that stores each final block's K/V.</param>
public readonly record struct NfeCount(int Denoise, int Total);

/// <summary>One position committed at a denoising step: its absolute position, the token and its confidence p0.</summary>
public readonly record struct CommittedToken(int Position, int TokenId, float Confidence);

/// <summary>One denoising step (AR: one token) of the trace.</summary>
public sealed record DenoisingStepTrace(int Block, int Step, IReadOnlyList<CommittedToken> Commits);

/// <summary>The outcome of one generation.</summary>
public sealed record GenerationResult
{
    /// <summary>The answer: generated ids only, cut before the first stop id (that id is <see cref="StopTokenId"/>).</summary>
    public required int[] TokenIds { get; init; }
    public required StopReason StopReason { get; init; }
    /// <summary>The stop id that ended generation, if one did.</summary>
    public int? StopTokenId { get; init; }
    /// <summary>The stop string that ended generation, if one did.</summary>
    public string? StopString { get; init; }
    /// <summary>
    /// With <see cref="StopReason.StopString"/>: the answer's text cut exactly before the stop string. The tokens
    /// keep only those wholly before it, so a token that straddles the stop is in neither.
    /// </summary>
    public string? Text { get; init; }

    /// <summary>
    /// What <see cref="Text"/> holds beyond <paramref name="streamed"/>, the text its tokens decoded to: the part
    /// before the stop string of the token that straddles it. Empty when no stop string cut the answer.
    /// </summary>
    public string TextBeyond(string streamed)
    {
        ArgumentNullException.ThrowIfNull(streamed);
        return Text is { } text && text.Length > streamed.Length && text.StartsWith(streamed, StringComparison.Ordinal)
            ? text[streamed.Length..]
            : "";
    }
    public required NfeCount Nfe { get; init; }
    /// <summary>Wall-clock time from the start of generation (prefill included) until this sequence finished.</summary>
    public required TimeSpan Elapsed { get; init; }
    /// <summary>The RNG seed used (the given one, or the random one drawn when none was given).</summary>
    public required long Seed { get; init; }
    /// <summary>Every denoising step's commits, when <see cref="GenerationOptions.RecordTrace"/> was set.</summary>
    public IReadOnlyList<DenoisingStepTrace>? Trace { get; init; }

    /// <summary>With <see cref="GenerationOptions.Logprobs"/>: each answer token's log-probability, aligned with <see cref="TokenIds"/>.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }

    /// <summary>Tokens generated: the answer plus the stop id that ended it (the model produced that one too).</summary>
    public int GeneratedTokenCount => TokenIds.Length + (StopTokenId is null ? 0 : 1);

    /// <summary>TPF: generated tokens per denoising forward (1 for AR decoding).</summary>
    public double TokensPerForward => Nfe.Denoise == 0 ? 0 : (double)GeneratedTokenCount / Nfe.Denoise;

    /// <summary>Generated tokens per wall-clock second, prefill included (in a batch: this sequence's share of the time).</summary>
    public double TokensPerSecond => Elapsed > TimeSpan.Zero ? GeneratedTokenCount / Elapsed.TotalSeconds : 0;

    /// <summary>Commits of each denoising step, in order (needs the trace).</summary>
    public IReadOnlyList<int>? CommitsPerStep => Trace?.Select(t => t.Commits.Count).ToArray();
}

/// <summary>
/// A piece of a streamed generation: tokens that became final (a whole block for diffusion, one token for AR),
/// and, on the sequence's last chunk, its result. The chunks of one sequence concatenate to <see cref="GenerationResult.TokenIds"/>.
/// </summary>
/// <param name="SequenceIndex">The request's index in the batch (0 for a single prompt).</param>
/// <param name="TokenIds">Newly final answer tokens (may be empty, e.g. on the final chunk).</param>
/// <param name="Result">Set on the last chunk of the sequence.</param>
public sealed record GeneratedChunk(int SequenceIndex, int[] TokenIds, GenerationResult? Result = null)
{
    /// <summary>With <see cref="GenerationOptions.Logprobs"/>: the log-probabilities of <see cref="TokenIds"/>, aligned.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }

    public bool IsFinal => Result is not null;
}

/// <summary>One prompt of a batch, with its own options (seed, strategy, lengths may differ).</summary>
public sealed record GenerationRequest(int[] PromptIds, GenerationOptions Options);
