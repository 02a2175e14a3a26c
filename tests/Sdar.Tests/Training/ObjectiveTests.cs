using Sdar.Training;
using Sdar.Training.Data;
using Sdar.Training.Modeling;
using Sdar.Training.Objectives;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdar.Tests.Training;

/// <summary>The AR and block diffusion objectives (DESIGN section 3), each on its own.</summary>
public class ObjectiveTests
{
    private const int Pad = 62, Mask = 63;

    private static TrainingSample Sample(int seed, int length, int promptLength = 0)
    {
        var random = new Random(seed);
        var tokens = Enumerable.Range(0, length).Select(_ => random.Next(60)).ToArray();
        return new TrainingSample(tokens, tokens.Select((_, i) => i >= promptLength).ToArray());
    }

    public class Autoregressive
    {
        [Fact]
        public void Each_position_predicts_the_next_label_token_of_its_own_sample()
        {
            var row = TrainingTestModels.Row(12, Pad, Sample(1, 5, promptLength: 2), Sample(2, 4));
            var batch = new AutoregressiveObjective().Build([row], new DeterministicRandom(0));
            // Sample 0 (positions 0-4): prompt 0-1, so targets are tokens 2,3,4 from rows 1,2,3. Sample 1 (5-8): rows 5,6,7.
            Assert.Equal(new long[] { 1, 2, 3, 5, 6, 7 }, batch.LossRows);
            Assert.Equal(new long[] { row.Tokens[2], row.Tokens[3], row.Tokens[4], row.Tokens[6], row.Tokens[7], row.Tokens[8] }, batch.Targets);
            Assert.Equal(6, batch.LabelCount);
            Assert.Equal(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 0, 0 }, batch.PositionIds);
        }

        [Fact]
        public void Loss_is_the_mean_next_token_cross_entropy()
        {
            using var scope = NewDisposeScope();
            var row = TrainingTestModels.Row(8, Pad, Sample(3, 8));
            var batch = new AutoregressiveObjective().Build([row], new DeterministicRandom(0));
            var logits = randn(1, 8, 64);
            double loss = batch.LossFromAllLogits(logits, batch.LabelCount).item<float>();
            double expected = F.cross_entropy(logits[0, ..7], tensor(row.Tokens[1..].Select(t => (long)t).ToArray())).item<float>();
            Assert.Equal(expected, loss, 1e-5);   // a tolerance, not rounding to 5 places: two values 1e-7 apart can round apart
        }

        [Fact]
        public void Packed_samples_never_see_each_other()
        {
            using var scope = NewDisposeScope();
            using var model = TrainingTestModels.Model(TrainingTestModels.Config(sdar: false));
            var first = Sample(4, 7);
            var second = Sample(5, 6);
            var packed = new AutoregressiveObjective().Build([TrainingTestModels.Row(16, Pad, first, second)], new DeterministicRandom(0));
            var alone = new AutoregressiveObjective().Build([TrainingTestModels.Row(16, Pad, second)], new DeterministicRandom(0));
            var packedLogits = Forward(model, packed)[0, 7..13];
            var aloneLogits = Forward(model, alone)[0, ..6];
            Assert.True(packedLogits.allclose(aloneLogits, rtol: 1e-4, atol: 1e-5));
        }
    }

    public class BlockDiffusion
    {
        private static readonly BlockDiffusionObjective Objective = new(blockLength: 4, maskTokenId: Mask);

        [Fact]
        public void Prompt_tokens_are_never_masked_and_each_sample_has_one_noise_level()
        {
            var row = TrainingTestModels.Row(32, Pad, Sample(1, 10, promptLength: 6), Sample(2, 12, promptLength: 3));
            for (int seed = 0; seed < 200; seed++)
            {
                var (masked, p) = Objective.DrawNoise(row, new DeterministicRandom(seed));
                for (int i = 0; i < row.Length; i++)
                    if (!row.IsLabel[i]) Assert.False(masked[i], $"seed {seed}: prompt/padding position {i} masked");
                foreach (var (start, length) in row.Segments())
                {
                    Assert.All(p.Skip(start).Take(length), v => Assert.Equal(p[start], v));
                    Assert.InRange(p[start], BlockDiffusionObjective.DefaultEpsilon, 1.0);
                    Assert.Contains(true, masked.Skip(start).Take(length));
                }
            }
        }

        [Fact]
        public void Masking_rate_follows_p_uniform_on_eps_to_one()
        {
            var row = TrainingTestModels.Row(64, Pad, Sample(3, 64));
            double maskedFraction = Enumerable.Range(0, 2000)
                .Average(seed => Objective.DrawNoise(row, new DeterministicRandom(seed)).Masked.Count(m => m) / 64.0);
            Assert.InRange(maskedFraction, 0.47, 0.53);
        }

        [Fact]
        public void A_sample_with_nothing_masked_after_ten_draws_gets_one_label_masked()
        {
            // One label token: each draw masks it with probability p, so many seeds need the redraws or the forced mask.
            var row = TrainingTestModels.Row(8, Pad, Sample(4, 5, promptLength: 4));
            for (int seed = 0; seed < 300; seed++)
            {
                var (masked, _) = Objective.DrawNoise(row, new DeterministicRandom(seed));
                Assert.Equal([false, false, false, false, true, false, false, false], masked);
            }
        }

        [Fact]
        public void Loss_is_the_weighted_cross_entropy_of_masked_positions_over_label_count()
        {
            using var scope = NewDisposeScope();
            var row = TrainingTestModels.Row(16, Pad, Sample(5, 9, promptLength: 2), Sample(6, 5));
            var batch = Objective.Build([row], new DeterministicRandom(7));
            var (masked, p) = Objective.DrawNoise(row, new DeterministicRandom(7));
            var logits = randn(1, 32, 64);
            double expected = 0;
            for (int i = 0; i < 16; i++)
            {
                if (!masked[i]) continue;
                var logProbs = F.log_softmax(logits[0, i], 0);
                expected += -logProbs[row.Tokens[i]].item<float>() / p[i];
            }
            expected /= 12; // label tokens: 7 + 5
            Assert.Equal(12, batch.LabelCount);
            Assert.Equal(expected, batch.LossFromAllLogits(logits, batch.LabelCount).item<float>(), 4);
        }

        [Fact]
        public void Gradients_reach_only_the_masked_noised_positions()
        {
            using var scope = NewDisposeScope();
            var row = TrainingTestModels.Row(16, Pad, Sample(7, 11, promptLength: 3), Sample(8, 4));
            var batch = Objective.Build([row], new DeterministicRandom(3));
            var logits = randn(1, 32, 64).requires_grad_(true);
            batch.LossFromAllLogits(logits, batch.LabelCount).backward();
            var gradNorms = logits.grad!.pow(2).sum(-1)[0].data<float>().ToArray();
            var scored = batch.LossRows.Select(r => (int)r).ToHashSet();
            for (int i = 0; i < 32; i++)
            {
                if (scored.Contains(i)) Assert.True(gradNorms[i] > 0, $"masked position {i} has no gradient");
                else Assert.Equal(0f, gradNorms[i]);
            }
            // Changing the logits of unscored positions leaves the loss as it was.
            using var _ = no_grad();
            var changed = logits.clone();
            foreach (int i in Enumerable.Range(0, 32).Where(i => !scored.Contains(i))) changed[0, i] = randn(64) * 10;
            Assert.Equal(batch.LossFromAllLogits(logits, batch.LabelCount).item<float>(), batch.LossFromAllLogits(changed, batch.LabelCount).item<float>());
        }

        [Fact]
        public void Model_loss_equals_the_loss_of_the_full_logits()
        {
            using var scope = NewDisposeScope();
            using var model = TrainingTestModels.Model(TrainingTestModels.Config());
            var batch = Objective.Build([TrainingTestModels.Row(16, Pad, Sample(9, 10), Sample(10, 6))], new DeterministicRandom(5));
            using var _ = no_grad();
            double direct = batch.Loss(model, batch.LabelCount).item<float>();
            double viaLogits = batch.LossFromAllLogits(Forward(model, batch), batch.LabelCount).item<float>();
            Assert.Equal(viaLogits, direct, 5);
        }

        [Fact]
        public void Packed_samples_never_see_each_other()
        {
            using var scope = NewDisposeScope();
            using var model = TrainingTestModels.Model(TrainingTestModels.Config());
            var first = Sample(11, 7);
            var second = Sample(12, 6);
            // No label is masked in either build: the inputs are the clean tokens in both copies, so equal rows mean no leak.
            var noNoise = new TrainingSample[] { new(first.Tokens, new bool[7]), new(second.Tokens, new bool[6]) };
            var packed = Objective.Build([TrainingTestModels.Row(16, Pad, noNoise)], new DeterministicRandom(0));
            var alone = Objective.Build([TrainingTestModels.Row(16, Pad, noNoise[1])], new DeterministicRandom(0));
            var packedLogits = Forward(model, packed)[0];
            var aloneLogits = Forward(model, alone)[0];
            Assert.True(packedLogits[7..13].allclose(aloneLogits[..6], rtol: 1e-4, atol: 1e-5), "noised copy");
            Assert.True(packedLogits[23..29].allclose(aloneLogits[16..22], rtol: 1e-4, atol: 1e-5), "clean copy");
        }

        [Fact]
        public void Sft_samples_are_padded_to_a_block_multiple_with_label_pad_tokens()
        {
            var padded = RowPacker.PadToMultiple(Sample(13, 6, promptLength: 3), 4, Pad, 64);
            Assert.Equal(8, padded.Length);
            Assert.Equal([Pad, Pad], padded.Tokens[6..]);
            Assert.Equal([false, false, false, true, true, true, true, true], padded.IsLabel);
        }
    }

    internal static Tensor Forward(Qwen3ForCausalLM model, ObjectiveBatch batch)
    {
        using var _ = no_grad();
        return model.forward(tensor(batch.InputIds, [batch.Rows, batch.Length]), tensor(batch.PositionIds, [batch.Rows, batch.Length]),
            tensor(batch.Mask, [batch.Rows, batch.Length, batch.Length]));
    }
}
