using Sdar.Config;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

/// <summary>
/// Wraps a model so that every forward recomputes the whole sequence from scratch (committed tokens plus the new
/// ones, the block-causal or causal mask over all of them, a fresh cache) and returns the new tokens' rows: what
/// decoding would compute without a KV cache. The caller's cache only has its length advanced on commits.
/// </summary>
internal sealed class NoCacheModel(ILanguageModel inner) : ILanguageModel
{
    private readonly Dictionary<KvCache, List<int>> _committed = new(ReferenceEqualityComparer.Instance);

    public ModelConfig Config => inner.Config;

    public float[][] Forward(IReadOnlyList<SequenceInput> batch)
    {
        int vocab = Config.VocabSize;
        var output = new float[batch.Count][];
        for (int b = 0; b < batch.Count; b++)
        {
            var input = batch[b];
            if (!_committed.TryGetValue(input.Cache, out var committed)) _committed[input.Cache] = committed = [];
            int[] all = [.. committed, .. input.Tokens];
            var full = inner.Forward([new SequenceInput(all, new ContiguousKvCache(Config, all.Length), StoreKv: false, LogitsKind.All)
                { Attention = input.Attention, BlockLength = input.BlockLength }])[0];
            int count = input.Tokens.Length;
            int rowsFrom = input.FirstLogitRow;
            output[b] = full.AsSpan((committed.Count + rowsFrom) * vocab, (count - rowsFrom) * vocab).ToArray();
            int stored = input.StoredCount;
            if (stored > 0)
            {
                committed.AddRange(input.Tokens[..stored]);
                input.Cache.Reserve(stored);
                input.Cache.Advance(stored);
            }
        }
        return output;
    }
}
