namespace Sdar.Decoding;

/// <summary>Another token the model weighed at a committed position, with its log-probability.</summary>
public readonly record struct TokenAlternative(int TokenId, float Logprob);

/// <summary>
/// The log-probability of a committed token under the model's distribution at the step that committed it, and the
/// most likely tokens of that distribution (most likely first, lower id first among equals). For block diffusion
/// this is the denoising step at which the position was unmasked; for AR decoding, the token's own forward.
/// </summary>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<TokenAlternative> Top);

/// <summary>
/// Log-softmax of one raw logits row: the model's own distribution, before logit bias, penalties, temperature and
/// truncation, as vLLM's raw logprobs and llama.cpp's n_probs report it (the processed distribution of a greedy
/// draw would be a point mass and say nothing).
/// </summary>
public static class TokenLogprobs
{
    /// <summary>The most alternatives a position may report (OpenAI's top_logprobs limit).</summary>
    public const int MaxAlternatives = 20;

    public static TokenLogprob Of(ReadOnlySpan<float> logits, int tokenId, int alternatives)
    {
        if ((uint)tokenId >= (uint)logits.Length) throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"outside the row of {logits.Length} logits");
        ArgumentOutOfRangeException.ThrowIfNegative(alternatives);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(alternatives, MaxAlternatives);
        float max = LogitMath.Max(logits);
        var (sumExp, _) = LogitMath.ExpSums(logits, max, 1f, withEntropy: false, []);
        double logZ = max + Math.Log(sumExp);
        return new TokenLogprob(tokenId, (float)(logits[tokenId] - logZ), Top(logits, alternatives, logZ));
    }

    /// <summary>The k largest logits by a bounded insertion sort: one pass, and most entries fail the first comparison.</summary>
    private static TokenAlternative[] Top(ReadOnlySpan<float> logits, int k, double logZ)
    {
        k = Math.Min(k, logits.Length);
        if (k == 0) return [];
        var ids = new int[k];
        var values = new float[k];
        int count = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float x = logits[i];
            if (count == k && !(x > values[k - 1])) continue;   // equals keep the lower id, which came first
            int at = count < k ? count++ : k - 1;
            while (at > 0 && x > values[at - 1])
            {
                values[at] = values[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            values[at] = x;
            ids[at] = i;
        }
        var top = new TokenAlternative[k];
        for (int j = 0; j < k; j++) top[j] = new TokenAlternative(ids[j], (float)(values[j] - logZ));
        return top;
    }
}
