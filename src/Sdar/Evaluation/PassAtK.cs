namespace Sdar.Evaluation;

/// <summary>
/// pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code", section 2.1): the chance that at
/// least one of k samples drawn without replacement from n, c of them correct, is correct: 1 - C(n-c, k) / C(n, k),
/// computed as the product 1 - prod_{i=n-c+1..n} (1 - k/i), which never forms the huge binomials.
/// </summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "pass@k needs at least one sample");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), c, $"correct samples must be between 0 and n ({n})");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and the number of samples ({n})");
        if (n - c < k) return 1.0;
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++) allWrong *= 1.0 - (double)k / i;
        return 1.0 - allWrong;
    }

    /// <summary>The mean of <see cref="Estimate"/> over problems, each given as (samples, correct samples).</summary>
    public static double Mean(IReadOnlyList<(int Samples, int Correct)> problems, int k)
    {
        if (problems.Count == 0) return 0;
        return problems.Average(p => Estimate(p.Samples, p.Correct, k));
    }
}

/// <summary>
/// Majority voting (self-consistency) over k answers to one problem: the normalised answer given most often wins;
/// a tie goes to the answer that reached that count first, and samples with no answer do not vote.
/// </summary>
public static class MajorityVote
{
    /// <summary>The position of the first sample whose answer won, or null when no sample has an answer.</summary>
    public static int? Winner(IReadOnlyList<string?> answers)
    {
        var votes = new Dictionary<string, (int Count, int First)>();
        int? winner = null;
        int best = 0;
        for (int i = 0; i < answers.Count; i++)
        {
            if (answers[i] is not { } answer) continue;
            var (count, first) = votes.TryGetValue(answer, out var v) ? (v.Count + 1, v.First) : (1, i);
            votes[answer] = (count, first);
            // Strictly more: an answer that only draws level with the leader does not overtake it.
            if (count > best) (best, winner) = (count, first);
        }
        return winner;
    }
}
