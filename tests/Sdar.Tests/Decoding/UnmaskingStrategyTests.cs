using Sdar.Decoding;

namespace Sdar.Tests.Decoding;

public class UnmaskingStrategyTests
{
    private const float Inf = float.PositiveInfinity;

    private static List<int> Choose(IUnmaskingStrategy strategy, bool[] masked, float[] confidence, int count, float[]? entropy = null)
    {
        var conf = confidence.Select((c, i) => masked[i] ? c : float.NegativeInfinity).ToArray();
        var chosen = new List<int>();
        strategy.Choose(new UnmaskingStep(masked, conf, entropy ?? [], count), chosen);
        return chosen;
    }

    [Fact]
    public void Sequential_takes_the_leftmost_masked_positions() =>
        Assert.Equal([1, 3], Choose(new SequentialStrategy(), [false, true, false, true, true], [0.1f, 0.2f, 0.9f, 0.3f, 0.99f], 2));

    [Fact]
    public void Static_takes_the_most_confident_masked_positions() =>
        Assert.Equal([4, 1], Choose(new LowConfidenceStaticStrategy(), [false, true, false, true, true], [0.9f, 0.5f, 0.99f, 0.3f, 0.7f], 2));

    [Fact]
    public void Static_breaks_confidence_ties_by_the_lower_position() =>
        Assert.Equal([1, 2], Choose(new LowConfidenceStaticStrategy(), [true, true, true, true], [0.2f, 0.5f, 0.5f, 0.5f], 2));

    [Fact]
    public void Strategies_never_choose_more_than_the_masked_positions()
    {
        bool[] masked = [false, true, false, false];
        float[] confidence = [0.9f, 0.5f, 0.9f, 0.9f];
        Assert.Equal([1], Choose(new SequentialStrategy(), masked, confidence, 3));
        Assert.Equal([1], Choose(new LowConfidenceStaticStrategy(), masked, confidence, 3));
        Assert.Equal([1], Choose(new LowConfidenceDynamicStrategy(0.9), masked, confidence, 3));
        Assert.Equal([1], Choose(new EntropyBoundedStrategy(10), masked, confidence, 3, [Inf, 0.1f, Inf, Inf]));
    }

    [Fact]
    public void Dynamic_strategy_commits_every_position_above_threshold() =>
        Assert.Equal([0, 2, 3], Choose(new LowConfidenceDynamicStrategy(0.8), [true, true, true, true], [0.95f, 0.5f, 0.81f, 0.99f], 1));

    [Fact]
    public void Dynamic_strategy_needs_strictly_more_than_the_threshold() =>
        Assert.Equal([1], Choose(new LowConfidenceDynamicStrategy(0.5), [true, true], [0.5f, 0.6f], 1));

    [Fact]
    public void Dynamic_strategy_falls_back_to_the_n_step_most_confident() =>
        // One position clears 0.9 but the step must commit 2: the two most confident instead.
        Assert.Equal([0, 3], Choose(new LowConfidenceDynamicStrategy(0.9), [true, true, true, true], [0.95f, 0.2f, 0.4f, 0.6f], 2));

    [Fact]
    public void Entropy_bounded_takes_the_longest_low_entropy_prefix_within_budget()
    {
        float[] entropy = [0.15f, 0.05f, 1.0f, 0.1f];
        // Sorted: 0.05 (1), 0.1 (3), 0.15 (0) -> cumulative 0.05, 0.15, 0.3 <= 0.35; then 1.3.
        Assert.Equal([1, 3, 0], Choose(new EntropyBoundedStrategy(0.35), [true, true, true, true], [0, 0, 0, 0], 1, entropy));
    }

    [Fact]
    public void Entropy_bounded_commits_at_least_one_position() =>
        Assert.Equal([2], Choose(new EntropyBoundedStrategy(0.35), [true, true, true, true], [0, 0, 0, 0], 4, [2f, 3f, 1f, 5f]));

    [Fact]
    public void Entropy_bounded_ignores_unmasked_positions() =>
        Assert.Equal([1], Choose(new EntropyBoundedStrategy(0.35), [false, true, false], [0, 0, 0], 1, [Inf, 0.3f, Inf]));

    [Fact]
    public void Registry_creates_each_strategy_by_its_name_with_the_options_thresholds()
    {
        Assert.Equal(["entropy_bounded", "low_confidence_dynamic", "low_confidence_static", "sequential"],
            UnmaskingStrategies.Names.Where(n => !n.StartsWith("test_", StringComparison.Ordinal)));
        var dynamic = Assert.IsType<LowConfidenceDynamicStrategy>(
            UnmaskingStrategies.Create(new GenerationOptions { ConfidenceThreshold = 0.75 }));
        Assert.Equal(0.75, dynamic.Threshold, 6);
        var bounded = Assert.IsType<EntropyBoundedStrategy>(
            UnmaskingStrategies.Create(new GenerationOptions { Strategy = "entropy_bounded", EbThreshold = 0.5 }));
        Assert.Equal(0.5, bounded.Budget, 6);
        Assert.Throws<ArgumentException>(() => UnmaskingStrategies.Create(new GenerationOptions { Strategy = "nope" }));
    }

    [Fact]
    public void A_registered_strategy_becomes_a_valid_option()
    {
        UnmaskingStrategies.Register("test_rightmost", _ => new RightmostStrategy());
        var resolved = new GenerationOptions { Strategy = "test_rightmost" }.Resolve(FakeConfigs.Sdar());
        Assert.Equal("test_rightmost", resolved.Options.Strategy);
        Assert.IsType<RightmostStrategy>(UnmaskingStrategies.Create(resolved.Options));
    }

    private sealed class RightmostStrategy : IUnmaskingStrategy
    {
        public string Name => "test_rightmost";
        public bool NeedsEntropy => false;
        public void Choose(UnmaskingStep scores, List<int> chosen) => chosen.Add(scores.Masked.LastIndexOf(true));
    }
}
