using System.Runtime.InteropServices;

namespace Sdar.Decoding;

/// <summary>
/// The tokens the penalties look at: the last <see cref="LastN"/> final tokens of prompt + answer, kept as a
/// count per token so that a penalty costs one pass over the distinct tokens, not over the vocabulary.
/// Follows llama.cpp's <c>penalty_last_n</c>: 0 = no window (penalties off), -1 = every token.
/// </summary>
internal sealed class PenaltyWindow
{
    private readonly Queue<int>? _order; // oldest first; null when the window holds every token
    private readonly Dictionary<int, int> _counts = [];

    public PenaltyWindow(int lastN)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lastN, -1);
        LastN = lastN;
        if (lastN > 0) _order = new Queue<int>(lastN);
    }

    public int LastN { get; }

    /// <summary>A window of 0 tokens: nothing is ever penalized.</summary>
    public bool IsOff => LastN == 0;

    /// <summary>How often each token occurs in the window (tokens that do not occur are absent).</summary>
    public IReadOnlyDictionary<int, int> Counts => _counts;

    public void Add(int tokenId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokenId);
        if (IsOff) return;
        if (_order is not null)
        {
            if (_order.Count == LastN)
            {
                int oldest = _order.Dequeue();
                ref int count = ref CollectionsMarshal.GetValueRefOrNullRef(_counts, oldest);
                if (--count == 0) _counts.Remove(oldest);
            }
            _order.Enqueue(tokenId);
        }
        CollectionsMarshal.GetValueRefOrAddDefault(_counts, tokenId, out _)++;
    }

    /// <summary>Adds <paramref name="tokens"/> in order; only the last <see cref="LastN"/> can stay, so only those are read.</summary>
    public void AddRange(ReadOnlySpan<int> tokens)
    {
        if (IsOff) return;
        if (LastN > 0 && tokens.Length > LastN) tokens = tokens[^LastN..];
        foreach (int token in tokens) Add(token);
    }
}
