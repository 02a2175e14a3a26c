using Sdar.Decoding;

namespace Sdar.Tests.Decoding;

public class SamplerTests
{
    private static double[] Softmax(float[] logits, double temperature)
    {
        double max = logits.Max();
        var e = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    private static double Entropy(double[] p) => -p.Where(x => x > 0).Sum(x => x * Math.Log(x));

    private static float[] RandomLogits(int vocab, int seed, float scale = 3f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
    }

    [Fact]
    public void Greedy_picks_the_argmax_with_its_softmax_probability()
    {
        float[] logits = [0.5f, 2f, -1f, 1.5f];
        var sample = GreedySampler.Instance.Sample(logits, withEntropy: true);
        var p = Softmax(logits, 1);
        Assert.Equal(1, sample.TokenId);
        Assert.Equal(p[1], sample.Probability, 6);
        Assert.Equal(Entropy(p), sample.Entropy, 5);
    }

    [Fact]
    public void Greedy_breaks_ties_by_the_lowest_id() =>
        Assert.Equal(1, GreedySampler.Instance.Sample([0f, 3f, 3f, 1f], false).TokenId);

    [Fact]
    public void Greedy_is_stable_for_huge_logits()
    {
        var sample = GreedySampler.Instance.Sample([1000f, 999f, -1000f], true);
        Assert.Equal(0, sample.TokenId);
        Assert.Equal(1 / (1 + Math.Exp(-1)), sample.Probability, 5);
        Assert.True(float.IsFinite(sample.Entropy));
    }

    [Fact]
    public void Entropy_of_a_uniform_row_is_log_vocab() =>
        Assert.Equal(Math.Log(512), GreedySampler.Instance.Sample(new float[512], true).Entropy, 4);

    [Fact]
    public void Nan_logits_are_reported_not_sampled() =>
        Assert.Throws<InvalidOperationException>(() => GreedySampler.Instance.Sample([float.NaN, float.NaN], false));

    [Fact]
    public void Temperature_zero_options_give_the_greedy_sampler() =>
        Assert.Same(GreedySampler.Instance, TokenSamplers.Create(new GenerationOptions { Temperature = 0 }, 1));

    [Fact]
    public void Confidence_is_the_unfiltered_tempered_probability_even_under_top_k()
    {
        float[] logits = [2f, 1f, 0f, -1f];
        var sampler = new TemperatureSampler(0.5, topK: 1, topP: 1, new DeterministicRandom(3));
        var p = Softmax(logits, 0.5);
        for (int i = 0; i < 50; i++)
        {
            var sample = sampler.Sample(logits, withEntropy: true);
            Assert.Equal(0, sample.TokenId);               // top-k 1 only ever draws the argmax
            Assert.Equal(p[0], sample.Probability, 6);     // ...but p0 is not 1: it comes from the full distribution
            Assert.Equal(Entropy(p), sample.Entropy, 5);
        }
    }

    [Fact]
    public void Draws_follow_the_tempered_softmax()
    {
        float[] logits = [1f, 0f, 0.5f, -0.5f];
        const double temperature = 0.7;
        var sampler = new TemperatureSampler(temperature, 0, 1, new DeterministicRandom(11));
        var counts = new int[4];
        const int draws = 40_000;
        for (int i = 0; i < draws; i++) counts[sampler.Sample(logits, false).TokenId]++;
        var p = Softmax(logits, temperature);
        for (int t = 0; t < 4; t++) Assert.InRange(counts[t] / (double)draws, p[t] - 0.01, p[t] + 0.01);
    }

    [Fact]
    public void Top_k_draws_only_from_the_k_most_likely_and_keeps_ties_with_the_kth()
    {
        float[] logits = [3f, 1f, 2f, 2f, 0f, -1f];
        var sampler = new TemperatureSampler(1, topK: 2, topP: 1, new DeterministicRandom(5));
        var seen = new HashSet<int>();
        for (int i = 0; i < 2000; i++) seen.Add(sampler.Sample(logits, false).TokenId);
        Assert.Equal(new HashSet<int> { 0, 2, 3 }, seen);   // logits 2 and 2 tie for second place: both stay
    }

    [Theory]
    [InlineData(0.4, new[] { 0 })]
    [InlineData(0.6, new[] { 0, 1 })]
    [InlineData(0.79, new[] { 0, 1 })]
    [InlineData(0.81, new[] { 0, 1, 2 })]
    public void Top_p_keeps_the_token_that_crosses_p(double topP, int[] expected)
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var sampler = new TemperatureSampler(1, 0, topP, new DeterministicRandom(9));
        var seen = new HashSet<int>();
        for (int i = 0; i < 3000; i++) seen.Add(sampler.Sample(logits, false).TokenId);
        Assert.Equal(expected.ToHashSet(), seen);
    }

    [Fact]
    public void Top_p_on_a_large_vocabulary_matches_a_full_sort()
    {
        const int vocab = 5000;
        const double topP = 0.9;
        var logits = RandomLogits(vocab, seed: 2, scale: 6f);
        var p = Softmax(logits, 1);
        var order = Enumerable.Range(0, vocab).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
        var nucleus = new HashSet<int>();
        double before = 0;
        foreach (int i in order)
        {
            if (before > topP) break;
            nucleus.Add(i);
            before += p[i];
        }
        var sampler = new TemperatureSampler(1, 0, topP, new DeterministicRandom(4));
        var counts = new Dictionary<int, int>();
        const int draws = 20_000;
        for (int n = 0; n < draws; n++)
        {
            int token = sampler.Sample(logits, false).TokenId;
            Assert.Contains(token, nucleus);
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        double nucleusMass = nucleus.Sum(i => p[i]);
        int top = order[0];
        Assert.InRange(counts[top] / (double)draws, p[top] / nucleusMass - 0.01, p[top] / nucleusMass + 0.01);
    }

    [Fact]
    public void Same_seed_gives_the_same_draws_and_another_seed_does_not()
    {
        var logits = RandomLogits(64, seed: 1, scale: 0.5f);
        int[] Draw(long seed)
        {
            var sampler = new TemperatureSampler(1, 0, 0.95, new DeterministicRandom(seed));
            return Enumerable.Range(0, 50).Select(_ => sampler.Sample(logits, false).TokenId).ToArray();
        }
        Assert.Equal(Draw(42), Draw(42));
        Assert.NotEqual(Draw(42), Draw(43));
    }

    [Fact]
    public void Random_stream_is_fixed_by_the_seed()
    {
        // xoshiro256** after SplitMix64(0): pins the stream so saved seeds reproduce across .NET versions.
        var random = new DeterministicRandom(0);
        Assert.Equal(11091344671253066420UL, random.NextUInt64());
        var d = new DeterministicRandom(7).NextDouble();
        Assert.InRange(d, 0, 1);
    }
}
