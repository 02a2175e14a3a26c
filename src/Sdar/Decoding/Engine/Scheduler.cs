using Sdar.Config;
using Sdar.Model;

namespace Sdar.Decoding;

/// <summary>
/// Picks what each engine step runs, in the manner of nano-vllm's and JetEngine's schedulers: a waiting and a
/// running queue, a cap on running sequences and on tokens per forward, and preemption when KV pages run out.
/// <list type="number">
/// <item>Running sequences first, oldest first: each gets its next forward (a denoising block, a token, or a
/// prefill chunk cut to the tokens left). If its stored positions need pages the pool cannot give, the newest
/// running sequence is preempted (its pages freed, it goes back to the front of the waiting queue) until they fit;
/// when it is itself the newest, it is the one preempted.</item>
/// <item>Then waiting sequences, first come first served, while a running slot and tokens are left: each takes
/// what the prefix cache holds of its prompt, then pages for its first chunk. Admission never preempts: a
/// sequence that does not fit waits for memory to come back.</item>
/// </list>
/// A sequence's output never depends on what else is scheduled (batch invariance), so preemption and chunking
/// change only when its tokens come, not which.
/// </summary>
public sealed class Scheduler
{
    private readonly EngineOptions _options;
    private readonly KvPagePool _pool;
    private readonly ModelConfig _config;
    private readonly LinkedList<Sequence> _waiting = new();
    private readonly List<Sequence> _running = [];

    internal Scheduler(EngineOptions options, KvPagePool pool, ModelConfig config)
    {
        _options = options;
        _pool = pool;
        _config = config;
    }

    public int WaitingCount => _waiting.Count;
    public int RunningCount => _running.Count;
    public IReadOnlyList<Sequence> Running => _running;
    public IEnumerable<Sequence> Waiting => _waiting;

    /// <summary>Preemptions so far (each frees one sequence's pages).</summary>
    public long Preemptions { get; private set; }

    internal void Enqueue(Sequence sequence)
    {
        sequence.Status = SequenceStatus.Waiting;
        _waiting.AddLast(sequence);
    }

    /// <summary>Takes a sequence out of either queue and frees its pages; false if it is in neither.</summary>
    internal bool Remove(Sequence sequence)
    {
        bool removed = _waiting.Remove(sequence) || _running.Remove(sequence);
        ReleaseMemory(sequence);
        return removed;
    }

    /// <summary>The sequences and inputs of the next forward (empty when nothing is left to run).</summary>
    internal List<(Sequence Sequence, SequenceInput Input)> Schedule()
    {
        var batch = new List<(Sequence, SequenceInput)>();
        int budget = _options.MaxTokensPerForward;

        for (int i = 0; i < _running.Count && budget > 0; i++)
        {
            var sequence = _running[i];
            var input = sequence.State.NextInput(budget);
            if (input is null) continue;
            bool preemptedItself = false;
            while (!sequence.Cache!.TryReserve(input.Cache.Length + input.StoredCount))
            {
                var newest = _running[^1];
                Preempt(newest);
                if (ReferenceEquals(newest, sequence)) { preemptedItself = true; break; }
            }
            if (preemptedItself) break;   // it was the newest: nothing after it is left to schedule
            batch.Add((sequence, input));
            budget -= input.Tokens.Length;
        }

        while (_waiting.First is { } node && _running.Count < _options.MaxRunningSequences && budget > 0)
        {
            var sequence = node.Value;
            var cache = new PagedKvCache(_pool, _config);
            sequence.Cache = cache;
            int fromCache = UsesPrefixCache(sequence)
                ? cache.AttachCachedPrefix(sequence.State.PositionTokens, sequence.State.ShareableLength, sequence.State.BlockLength)
                : 0;
            var input = sequence.State.NextInput(budget);
            if (input is null || !cache.TryReserve(cache.Length + input.StoredCount))
            {
                ReleaseMemory(sequence);
                break;
            }
            _waiting.RemoveFirst();
            _running.Add(sequence);
            sequence.PrefixCachedTokens += fromCache;
            sequence.Status = SequenceStatus.Running;
            batch.Add((sequence, input));
            budget -= input.Tokens.Length;
        }
        return batch;
    }

    /// <summary>After a forward: registers the sequence's newly computed prompt pages with the prefix cache.</summary>
    internal void AfterForward(Sequence sequence)
    {
        if (sequence.Cache is { } cache && UsesPrefixCache(sequence))
            cache.RegisterComputedPrefix(sequence.State.PositionTokens, sequence.State.ShareableLength, sequence.State.BlockLength);
    }

    /// <summary>A sequence that ended: out of the running queue, pages back to the pool (cached prompt pages stay cached).</summary>
    internal void Retire(Sequence sequence)
    {
        AfterForward(sequence);
        _running.Remove(sequence);
        ReleaseMemory(sequence);
    }

    private bool UsesPrefixCache(Sequence sequence) =>
        _options.PrefixCaching && _pool.PageSize % sequence.State.BlockLength == 0;

    private void Preempt(Sequence sequence)
    {
        _running.Remove(sequence);
        ReleaseMemory(sequence);
        sequence.Status = SequenceStatus.Preempted;
        sequence.Preemptions++;
        Preemptions++;
        _waiting.AddFirst(sequence);
    }

    private static void ReleaseMemory(Sequence sequence)
    {
        sequence.Cache?.ReleaseAll();
        sequence.Cache = null;
    }
}
