using Sdar.Decoding;

namespace Sdar.Tests.Decoding.Sampling;

/// <summary>
/// The whole chain as <see cref="TokenSamplers.Create(GenerationOptions, long, ReadOnlySpan{int})"/> builds it:
/// stage order, what p0 means, the penalty window fed by the prompt and by Accept, seeds, and the fast path that
/// keeps today's draws bit for bit.
/// </summary>
public class SamplingChainTests
{
    private static double[] Softmax(double[] logits, double temperature = 1)
    {
        double max = logits.Max();
        var e = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        return e.Select(x => x / e.Sum()).ToArray();
    }

    private static ITokenSampler Create(GenerationOptions options, params int[] prompt) => TokenSamplers.Create(options, seed: 5, prompt);

    private static readonly GenerationOptions Greedy = new() { Temperature = 0 };

    public class Fast_path
    {
        [Fact]
        public void Without_bias_or_penalties_the_plain_samplers_are_used()
        {
            Assert.Same(GreedySampler.Instance, Create(Greedy, 1, 2, 3));
            Assert.IsType<TemperatureSampler>(Create(new GenerationOptions { Temperature = 0.8, MinP = 0.1 }, 1, 2));
            // A penalty whose window is empty changes nothing, so it is left out too.
            Assert.Same(GreedySampler.Instance, Create(Greedy with { RepetitionPenalty = 1.5, PresencePenalty = 1, PenaltyLastN = 0 }));
        }

        [Fact]
        public void A_bias_or_an_active_penalty_adds_the_logits_stage()
        {
            Assert.IsType<AdjustedLogitsSampler>(Create(Greedy with { LogitBias = new Dictionary<int, double> { [0] = 1 } }));
            Assert.IsType<AdjustedLogitsSampler>(Create(Greedy with { RepetitionPenalty = 1.1 }));
            Assert.IsType<AdjustedLogitsSampler>(Create(Greedy with { FrequencyPenalty = -0.5 }));
        }

        /// <summary>
        /// FNV-1a over (token, p0 bits, entropy bits) of 100 draws from 1000-token rows, pinned from the samplers as
        /// they were before the chain (greedy, temperature, top-k, top-p): the golden decoding cases depend on them.
        /// </summary>
        [Theory]
        [InlineData(1.0, 0, 1.0, 7603596544116197237UL)]
        [InlineData(0.7, 0, 1.0, 3431744582300423777UL)]
        [InlineData(1.0, 5, 1.0, 3780628898397965118UL)]
        [InlineData(1.0, 0, 0.9, 11059291793942606113UL)]
        [InlineData(0.6, 20, 0.8, 6525520581444044911UL)]
        [InlineData(0.0, 0, 1.0, 11989039585743396403UL)]
        public void Draws_are_bit_identical_to_the_samplers_before_the_chain(double temperature, int topK, double topP, ulong fingerprint)
        {
            var sampler = TokenSamplers.Create(new GenerationOptions { Temperature = temperature, TopK = topK, TopP = topP }, 7);
            var logitsRandom = new DeterministicRandom(99);
            ulong hash = 14695981039346656037UL;
            var logits = new float[1000];
            for (int n = 0; n < 100; n++)
            {
                for (int i = 0; i < logits.Length; i++) logits[i] = (float)(logitsRandom.NextDouble() * 12 - 6);
                var s = sampler.Sample(logits, withEntropy: true);
                sampler.Accept(s.TokenId);
                foreach (int v in new[] { s.TokenId, BitConverter.SingleToInt32Bits(s.Probability), BitConverter.SingleToInt32Bits(s.Entropy) })
                {
                    hash ^= (uint)v;
                    hash *= 1099511628211UL;
                }
            }
            Assert.Equal(fingerprint, hash);
        }

        [Fact]
        public void The_model_row_is_never_modified()
        {
            float[] logits = [1f, 2f, 3f];
            var sampler = Create(Greedy with { LogitBias = new Dictionary<int, double> { [0] = 50 }, PresencePenalty = 2 }, 1);
            Assert.Equal(0, sampler.Sample(logits, false).TokenId);
            Assert.Equal([1f, 2f, 3f], logits);
        }
    }

    public class Stage_order
    {
        [Fact]
        public void Bias_comes_before_the_repetition_penalty()
        {
            // Bias then penalty: (1 + 1) / 2 = 1. Penalty then bias would give 1 / 2 + 1 = 1.5.
            var sampler = Create(Greedy with { LogitBias = new Dictionary<int, double> { [0] = 1 }, RepetitionPenalty = 2 }, 0);
            var sample = sampler.Sample([1f, 0f], false);
            Assert.Equal(0, sample.TokenId);
            Assert.Equal(Softmax([1, 0])[0], sample.Probability, 6);
        }

        [Fact]
        public void Repetition_penalty_comes_before_presence_and_frequency()
        {
            // 4 / 2 - (0.5 + 0.5) = 1; the other order would give (4 - 1) / 2 = 1.5.
            var sampler = Create(Greedy with { RepetitionPenalty = 2, PresencePenalty = 0.5, FrequencyPenalty = 0.5 }, 0);
            Assert.Equal(Softmax([1, 0])[0], sampler.Sample([4f, 0f], false).Probability, 6);
        }

        [Fact]
        public void Penalties_come_before_the_temperature()
        {
            // (1 - 1) / 0.5 = 0 against 0: a fair coin. Tempering first would give 2 - 1 = 1 against 0.
            var sampler = Create(new GenerationOptions { Temperature = 0.5, PresencePenalty = 1 }, 0);
            for (int i = 0; i < 20; i++) Assert.Equal(0.5, sampler.Sample([1f, 0f], false).Probability, 6);
        }

        [Fact]
        public void Filters_see_the_biased_logits()
        {
            // Top-k 1 of [2, 1 + 3, 0, -1] is token 1, which the bias made the largest.
            var sampler = Create(new GenerationOptions { Temperature = 1, TopK = 1, LogitBias = new Dictionary<int, double> { [1] = 3 } });
            for (int i = 0; i < 50; i++) Assert.Equal(1, sampler.Sample([2f, 1f, 0f, -1f], false).TokenId);
        }
    }

    public class Confidence
    {
        [Fact]
        public void P0_is_the_tempered_probability_of_the_adjusted_logits_before_top_k()
        {
            float[] logits = [2f, 1f, 0f, -1f];
            var sampler = Create(new GenerationOptions { Temperature = 0.5, TopK = 1, LogitBias = new Dictionary<int, double> { [1] = 2 } });
            var p = Softmax([2, 3, 0, -1], 0.5);
            var sample = sampler.Sample(logits, withEntropy: true);
            Assert.Equal(1, sample.TokenId);
            Assert.Equal(p[1], sample.Probability, 6);     // not 1, though top-k 1 left a single candidate
            Assert.Equal(-p.Sum(x => x * Math.Log(x)), sample.Entropy, 5);
        }

        [Fact]
        public void P0_ignores_top_p_and_min_p_too()
        {
            float[] logits = [1f, 0.9f, 0f];
            var sampler = Create(new GenerationOptions { Temperature = 1, TopP = 0.1, MinP = 0.95, PresencePenalty = 0.5 }, 2);
            var p = Softmax([1, 0.9, -0.5]);
            var sample = sampler.Sample(logits, false);
            Assert.Equal(0, sample.TokenId);
            Assert.Equal(p[0], sample.Probability, 6);
        }

        [Fact]
        public void Greedy_takes_the_argmax_of_the_adjusted_logits_with_its_temperature_one_probability()
        {
            var sampler = Create(Greedy with { LogitBias = new Dictionary<int, double> { [2] = Math.Log(4) } });
            var sample = sampler.Sample([0f, 1f, 0f], withEntropy: true);
            var p = Softmax([0, 1, Math.Log(4)]);
            Assert.Equal(2, sample.TokenId);
            Assert.Equal(p[2], sample.Probability, 6);
            Assert.Equal(-p.Sum(x => x * Math.Log(x)), sample.Entropy, 5);
        }

        [Fact]
        public void A_bias_of_minus_100_bans_a_token()
        {
            var sampler = Create(new GenerationOptions { Temperature = 2, LogitBias = new Dictionary<int, double> { [0] = -100 } });
            for (int i = 0; i < 2000; i++) Assert.NotEqual(0, sampler.Sample([5f, 0f, 0f], false).TokenId);
        }
    }

    public class Penalty_history
    {
        private static readonly float[] Row = [1f, 0.5f, 0f];

        private static int[] Draws(ITokenSampler sampler, int count)
        {
            var tokens = new int[count];
            for (int i = 0; i < count; i++)
            {
                tokens[i] = sampler.Sample(Row, false).TokenId;
                sampler.Accept(tokens[i]);
            }
            return tokens;
        }

        [Fact]
        public void Accepted_tokens_are_penalized_in_later_draws()
        {
            // Presence 2: each drawn token drops below the others: [1, .5, 0] -> [-1, .5, 0] -> [-1, -1.5, 0] -> ...
            Assert.Equal([0, 1, 2, 0], Draws(Create(Greedy with { PresencePenalty = 2 }), 4));
        }

        [Fact]
        public void Only_the_last_n_tokens_count()
        {
            // Window 1: after 0 then 1, token 0 has left the window and wins again.
            Assert.Equal([0, 1, 0, 1], Draws(Create(Greedy with { PresencePenalty = 2, PenaltyLastN = 1 }), 4));
        }

        [Fact]
        public void The_prompt_seeds_the_window_and_the_two_argument_create_has_none()
        {
            var options = Greedy with { PresencePenalty = 2 };
            Assert.Equal(1, TokenSamplers.Create(options, 1, [0]).Sample(Row, false).TokenId);
            Assert.Equal(0, TokenSamplers.Create(options, 1).Sample(Row, false).TokenId);
        }

        [Fact]
        public void Frequency_penalty_grows_with_each_occurrence()
        {
            // Frequency 0.3: token 0 (logit 1) loses to token 1 (0.5) once it has occurred twice: 1 - 0.6 < 0.5.
            Assert.Equal([0, 0, 1], Draws(Create(Greedy with { FrequencyPenalty = 0.3 }), 3));
        }

        [Fact]
        public void Samplers_are_per_sequence_a_second_one_starts_with_its_own_prompt()
        {
            var options = Greedy with { PresencePenalty = 2 };
            var first = Create(options, 0);
            first.Accept(1);
            Assert.Equal(2, first.Sample(Row, false).TokenId);
            Assert.Equal(0, Create(options).Sample(Row, false).TokenId);
        }
    }

    public class Seeds
    {
        private static int[] Draw(long seed, GenerationOptions options)
        {
            var logitsRandom = new DeterministicRandom(3);
            var row = Enumerable.Range(0, 64).Select(_ => (float)logitsRandom.NextDouble()).ToArray();
            var sampler = TokenSamplers.Create(options, seed, [1, 2, 3]);
            var tokens = new int[60];
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = sampler.Sample(row, false).TokenId;
                sampler.Accept(tokens[i]);
            }
            return tokens;
        }

        [Fact]
        public void The_same_seed_reproduces_penalized_filtered_draws_and_another_seed_does_not()
        {
            var options = new GenerationOptions
            {
                Temperature = 0.9, TopK = 40, TopP = 0.95, MinP = 0.05, RepetitionPenalty = 1.3, PresencePenalty = 0.4,
                FrequencyPenalty = 0.2, PenaltyLastN = 16, LogitBias = new Dictionary<int, double> { [5] = 3, [9] = -100 },
            };
            Assert.Equal(Draw(42, options), Draw(42, options));
            Assert.NotEqual(Draw(42, options), Draw(43, options));
            Assert.DoesNotContain(9, Draw(42, options));
        }
    }
}
