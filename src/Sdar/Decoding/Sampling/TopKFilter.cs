namespace Sdar.Decoding;

/// <summary>
/// Top-k as the official SDAR <c>top_k_logits</c>: keeps every logit >= the k-th largest, so ties with the k-th
/// all stay (as in torch).
/// </summary>
internal sealed class TopKFilter : IDrawFilter
{
    private readonly int _k;
    private readonly PriorityQueue<float, float> _heap = new();

    public TopKFilter(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        _k = k;
    }

    public void Apply(ReadOnlySpan<float> logits, DrawCandidates candidates)
    {
        if (_k >= logits.Length) return;
        // A min-heap of the k largest logits seen so far: its top is the k-th largest.
        var heap = _heap;
        heap.Clear();
        foreach (float l in logits)
        {
            if (heap.Count < _k) heap.Enqueue(l, l);
            else if (l > heap.Peek()) heap.EnqueueDequeue(l, l);
        }
        float kth = heap.Peek();
        var weights = candidates.Weights;
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] < kth) weights[i] = 0;
        if (candidates.IsRanked) candidates.Ranked.RemoveAll(i => weights[i] == 0);
    }
}
