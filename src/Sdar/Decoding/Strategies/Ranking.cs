namespace Sdar.Decoding;

/// <summary>Deterministic orderings of masked positions shared by the strategies.</summary>
internal static class Ranking
{
    /// <summary>
    /// Adds the <paramref name="count"/> masked positions with the highest <paramref name="score"/> (fewer if fewer are
    /// masked), ties broken by the lower position: torch.topk picks among ties arbitrarily; we pick reproducibly.
    /// </summary>
    public static void TopMasked(ReadOnlySpan<bool> masked, ReadOnlySpan<float> score, int count, List<int> chosen)
    {
        int start = chosen.Count;
        for (int i = 0; i < masked.Length; i++)
            if (masked[i]) chosen.Add(i);
        float[] s = score.ToArray();
        chosen.Sort(start, chosen.Count - start, Comparer<int>.Create((a, b) => s[a] != s[b] ? s[b].CompareTo(s[a]) : a.CompareTo(b)));
        int keep = Math.Min(count, chosen.Count - start);
        chosen.RemoveRange(start + keep, chosen.Count - start - keep);
    }
}
