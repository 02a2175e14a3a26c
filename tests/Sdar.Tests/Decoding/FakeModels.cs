using Sdar.Config;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

/// <summary>What one sequence sent in one recorded forward.</summary>
internal sealed record RecordedInput(int[] Tokens, int CacheLength, bool StoreKv, LogitsKind Logits, int StoredCount = 0, int BlockLength = 1);

/// <summary>One recorded <see cref="ILanguageModel.Forward"/> call (attention and B of its first sequence).</summary>
internal sealed record RecordedForward(AttentionKind Attention, int BlockLength, IReadOnlyList<RecordedInput> Inputs);

/// <summary>
/// A fake model whose logits row for position p is a deterministic function of p and the tokens p may see under
/// the attention mask (cached tokens plus new ones: the whole block for block-causal, up to p for causal).
/// It keeps each cache's committed tokens itself and advances the cache on StoreKv, like a real model.
/// </summary>
internal sealed class ScriptedModel : ILanguageModel
{
    public delegate void RowFunction(int position, IReadOnlyList<int> visible, Span<float> row);

    private readonly RowFunction _rows;
    private readonly Dictionary<KvCache, List<int>> _committed = new(ReferenceEqualityComparer.Instance);

    public ScriptedModel(ModelConfig config, RowFunction rows)
    {
        Config = config;
        _rows = rows;
    }

    public ModelConfig Config { get; }
    public List<RecordedForward> Calls { get; } = [];
    public Action<int>? OnForward { get; set; }

    public float[][] Forward(IReadOnlyList<SequenceInput> batch)
    {
        OnForward?.Invoke(Calls.Count);
        Calls.Add(new RecordedForward(batch[0].Attention, batch[0].BlockLength,
            batch.Select(s => new RecordedInput((int[])s.Tokens.Clone(), s.Cache.Length, s.StoreKv, s.Logits, s.StoredCount, s.BlockLength)).ToArray()));
        int vocab = Config.VocabSize;
        var output = new float[batch.Count][];
        for (int b = 0; b < batch.Count; b++)
        {
            var input = batch[b];
            var attention = input.Attention;
            int blockLength = input.BlockLength;
            if (!_committed.TryGetValue(input.Cache, out var committed)) _committed[input.Cache] = committed = [];
            Assert.Equal(committed.Count, input.Cache.Length);
            var all = committed.Concat(input.Tokens).ToArray();
            int first = committed.Count, count = input.Tokens.Length;
            int rowsFrom = input.FirstLogitRow;
            output[b] = new float[(count - rowsFrom) * vocab];
            for (int t = rowsFrom; t < count; t++)
            {
                int position = first + t;
                int end = attention == AttentionKind.Causal
                    ? position + 1
                    : Math.Min(all.Length, (position / blockLength + 1) * blockLength);
                _rows(position, all[..end], output[b].AsSpan((t - rowsFrom) * vocab, vocab));
            }
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

    /// <summary>Forwards that denoise some sequence (its logits are sampled from): not pure prefills or commits.</summary>
    public IEnumerable<RecordedForward> DenoiseCalls => Calls.Where(c => c.Inputs.Any(i => i.Logits != LogitsKind.None));
}

internal static class FakeConfigs
{
    public const int Vocab = 16;
    public const int Mask = 15;
    public const int Eos = 14;

    public static ModelConfig Sdar(int blockSize = 4) => new()
    {
        ModelType = "sdar", HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 1,
        NumKeyValueHeads = 1, HeadDim = 8, VocabSize = Vocab, BlockSize = blockSize, MaskTokenId = Mask, EosTokenId = Eos,
    };

    public static ModelConfig Qwen3() => Sdar() with { ModelType = "qwen3", BlockSize = 0, MaskTokenId = null };
}

internal static class Rows
{
    /// <summary>A row where <paramref name="token"/> has softmax probability exactly <paramref name="probability"/> and the rest share the remainder.</summary>
    public static void Peaked(Span<float> row, int token, double probability)
    {
        row.Clear();
        int others = row.Length - 1;
        row[token] = probability >= 1 ? 50f : (float)Math.Log(probability * others / (1 - probability));
    }

    /// <summary>The number of mask tokens among <paramref name="visible"/>.</summary>
    public static int Masks(IReadOnlyList<int> visible) => visible.Count(t => t == FakeConfigs.Mask);
}
