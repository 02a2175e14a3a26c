using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>Where a request is in the engine.</summary>
public enum SequenceStatus
{
    /// <summary>Added, not admitted yet (no KV memory held).</summary>
    Waiting,
    /// <summary>Admitted: holds KV pages and is scheduled every step the budgets allow.</summary>
    Running,
    /// <summary>Its pages were taken back for older sequences; waiting to recompute its prefix and continue.</summary>
    Preempted,
    /// <summary>Done; <see cref="Sequence.Result"/> holds the answer.</summary>
    Finished,
    /// <summary>Cancelled by <see cref="Engine.Abort"/>.</summary>
    Aborted,
    /// <summary>Stopped by an error in its own forward (e.g. non-finite logits); <see cref="Sequence.Error"/> says which.</summary>
    Failed,
}

/// <summary>
/// One request inside an <see cref="Engine"/>: its status, progress and timings. The decoding state machine and
/// the KV cache behind it belong to the engine.
/// </summary>
public sealed class Sequence
{
    internal Sequence(int id, int[] promptIds, GenerationOptions options, DecodingSequence state, TimeSpan addedAt)
    {
        Id = id;
        PromptIds = promptIds;
        Options = options;
        State = state;
        AddedAt = addedAt;
    }

    public int Id { get; }
    public int[] PromptIds { get; }
    public GenerationOptions Options { get; }
    public SequenceStatus Status { get; internal set; }

    /// <summary>The answer, once <see cref="SequenceStatus.Finished"/>.</summary>
    public GenerationResult? Result => State.Result;

    /// <summary>Why the sequence <see cref="SequenceStatus.Failed"/>.</summary>
    public Exception? Error { get; internal set; }

    /// <summary>Answer tokens final so far.</summary>
    public int GeneratedTokenCount => State.AnswerLength;

    /// <summary>How often its pages were taken back (each time it recomputed its prefix).</summary>
    public int Preemptions { get; internal set; }

    /// <summary>Positions taken from the prefix cache instead of computed (summed over admissions).</summary>
    public int PrefixCachedTokens { get; internal set; }

    /// <summary>Engine clock times: when added, when its first answer tokens became final, when it ended.</summary>
    public TimeSpan AddedAt { get; }
    public TimeSpan? FirstChunkAt { get; internal set; }
    public TimeSpan? EndedAt { get; internal set; }

    public bool IsDone => Status is SequenceStatus.Finished or SequenceStatus.Aborted or SequenceStatus.Failed;

    internal DecodingSequence State { get; }
    internal PagedKvCache? Cache
    {
        get => (PagedKvCache?)State.Cache;
        set => State.Cache = value;
    }

    public override string ToString() => $"sequence {Id} ({Status}, {GeneratedTokenCount} tokens)";
}
