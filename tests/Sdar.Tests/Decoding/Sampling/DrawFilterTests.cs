using Sdar.Decoding;

namespace Sdar.Tests.Decoding.Sampling;

/// <summary>
/// The truncating filters on hand-made weights. Probabilities 0.5, 0.3, 0.15, 0.05 are the weights 1, 0.6, 0.3,
/// 0.1 relative to the most likely token (what the tempered softmax writes), mass 2.
/// </summary>
public class DrawFilterTests
{
    private static readonly float[] Logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];

    private static DrawCandidates Candidates(params float[] weights)
    {
        var candidates = new DrawCandidates();
        weights.CopyTo(candidates.Reset(weights.Length));
        return candidates;
    }

    private static DrawCandidates Standard() => Candidates(1f, 0.6f, 0.3f, 0.1f);

    /// <summary>What the draw picks from: token -> probability, renormalized over the remaining candidates.</summary>
    private static Dictionary<int, double> Distribution(DrawCandidates c)
    {
        var ids = c.IsRanked ? c.Ranked : Enumerable.Range(0, c.Weights.Length).Where(i => c.Weights[i] > 0).ToList();
        double mass = ids.Sum(i => (double)c.Weights[i]);
        return ids.ToDictionary(i => i, i => c.Weights[i] / mass);
    }

    private static void AssertDistribution(Dictionary<int, double> expected, DrawCandidates candidates)
    {
        var actual = Distribution(candidates);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (token, p) in expected) Assert.Equal(p, actual[token], 6);
    }

    [Fact]
    public void Top_k_keeps_the_k_largest_logits_renormalized()
    {
        var c = Standard();
        new TopKFilter(2).Apply(Logits, c);
        AssertDistribution(new() { [0] = 1 / 1.6, [1] = 0.6 / 1.6 }, c);
    }

    [Fact]
    public void Top_k_at_least_the_vocabulary_keeps_everything()
    {
        var c = Standard();
        new TopKFilter(4).Apply(Logits, c);
        AssertDistribution(new() { [0] = 0.5, [1] = 0.3, [2] = 0.15, [3] = 0.05 }, c);
    }

    [Theory]
    [InlineData(0.4, new[] { 0 })]
    [InlineData(0.6, new[] { 0, 1 })]       // 0.5 above token 1 is <= 0.6: kept; 0.8 above token 2 is not
    [InlineData(0.81, new[] { 0, 1, 2 })]
    [InlineData(0.96, new[] { 0, 1, 2, 3 })]
    public void Top_p_ranks_the_candidates_and_keeps_the_token_that_crosses_p(double p, int[] expected)
    {
        var c = Standard();
        new TopPFilter(p).Apply(Logits, c);
        Assert.True(c.IsRanked);
        Assert.Equal(expected, c.Ranked);
    }

    [Theory]
    [InlineData(0.25, new[] { 0, 1, 2 })]   // floor 0.25 * 0.5 = 0.125: 0.15 stays, 0.05 goes
    [InlineData(0.5, new[] { 0, 1 })]       // floor 0.25
    [InlineData(0.7, new[] { 0 })]          // floor 0.35
    [InlineData(1.0, new[] { 0 })]
    public void Min_p_keeps_tokens_at_least_min_p_times_as_likely_as_the_top(double minP, int[] expected)
    {
        var unranked = Standard();
        new MinPFilter(minP).Apply(Logits, unranked);
        Assert.Equal(expected, Distribution(unranked).Keys.Order());

        var ranked = Standard();
        new TopPFilter(1).Apply(Logits, ranked);      // p = 1 ranks without removing anything
        new MinPFilter(minP).Apply(Logits, ranked);
        Assert.Equal(expected, ranked.Ranked);
    }

    [Fact]
    public void Min_p_is_relative_to_the_most_likely_remaining_candidate_not_to_one()
    {
        var c = Candidates(0.5f, 0.2f, 0.1f);
        new MinPFilter(0.3).Apply(Logits.AsSpan(0, 3), c);   // floor 0.15: token 2 (0.1) goes
        AssertDistribution(new() { [0] = 0.5 / 0.7, [1] = 0.2 / 0.7 }, c);
    }

    [Fact]
    public void Top_k_after_ranking_drops_from_the_ranked_list()
    {
        var c = Standard();
        new TopPFilter(1).Apply(Logits, c);
        new TopKFilter(3).Apply(Logits, c);
        Assert.Equal([0, 1, 2], c.Ranked);
    }

    [Fact]
    public void Top_p_then_min_p_differs_from_min_p_then_top_p_and_the_chain_does_top_p_first()
    {
        // Top-p 0.6 keeps {0, 1} (budget 1.2 of mass 2); min-p 0.35 (floor 0.35) then keeps both.
        var chainOrder = Standard();
        new TopPFilter(0.6).Apply(Logits, chainOrder);
        new MinPFilter(0.35).Apply(Logits, chainOrder);
        AssertDistribution(new() { [0] = 1 / 1.6, [1] = 0.6 / 1.6 }, chainOrder);

        // The other order: min-p leaves mass 1.6, top-p's budget 0.96 then keeps token 0 alone.
        var otherOrder = Standard();
        new MinPFilter(0.35).Apply(Logits, otherOrder);
        new TopPFilter(0.6).Apply(Logits, otherOrder);
        AssertDistribution(new() { [0] = 1 }, otherOrder);

        // The sampler runs them in the chain order: both tokens are drawn, in proportion 1 : 0.6.
        var sampler = new TemperatureSampler(1, topK: 0, topP: 0.6, minP: 0.35, new DeterministicRandom(1));
        var counts = new int[4];
        const int draws = 40_000;
        for (int i = 0; i < draws; i++) counts[sampler.Sample(Logits, false).TokenId]++;
        Assert.Equal(0, counts[2] + counts[3]);
        Assert.InRange(counts[0] / (double)draws, 0.625 - 0.01, 0.625 + 0.01);
    }

    [Fact]
    public void Bad_filter_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopPFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinPFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinPFilter(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TemperatureSampler(1, 0, 1, minP: -0.1, new DeterministicRandom(1)));
    }
}
