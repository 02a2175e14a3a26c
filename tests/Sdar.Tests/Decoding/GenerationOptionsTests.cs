using Sdar.Decoding;

namespace Sdar.Tests.Decoding;

public class GenerationOptionsTests
{
    private static GenerationOptionException Rejected(GenerationOptions options) =>
        Assert.Throws<GenerationOptionException>(() => options.Resolve(FakeConfigs.Sdar()));

    [Fact]
    public void Defaults_take_the_block_length_from_the_checkpoint_and_one_step_per_token()
    {
        var resolved = new GenerationOptions().Resolve(FakeConfigs.Sdar(blockSize: 8));
        Assert.Equal(8, resolved.BlockLength);
        Assert.Equal(8, resolved.DenoisingSteps);
        Assert.Equal(Enumerable.Repeat(1, 8), resolved.StepSchedule);
        Assert.Equal(FakeConfigs.Mask, resolved.MaskTokenId);
    }

    [Theory]
    [InlineData(4, 5)]
    [InlineData(4, 0)]
    public void Denoising_steps_outside_one_to_block_length_are_rejected(int block, int steps)
    {
        var error = Rejected(new GenerationOptions { BlockLength = block, DenoisingSteps = steps });
        Assert.Contains("DenoisingSteps", error.Message);
        Assert.Contains("between 1 and the block length 4", error.Message);
    }

    [Fact]
    public void Block_length_below_one_is_rejected() =>
        Assert.Contains("BlockLength", Rejected(new GenerationOptions { BlockLength = 0 }).Message);

    [Fact]
    public void Missing_block_length_without_a_checkpoint_block_size_is_rejected() =>
        Assert.Contains("block_size",
            Assert.Throws<GenerationOptionException>(() => new GenerationOptions().Resolve(FakeConfigs.Sdar(blockSize: 0))).Message);

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.01)]
    [InlineData(-0.5)]
    public void Confidence_threshold_must_be_in_zero_one(double threshold) =>
        Assert.Contains("ConfidenceThreshold", Rejected(new GenerationOptions { ConfidenceThreshold = threshold }).Message);

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Top_p_must_be_in_zero_one(double topP) =>
        Assert.Contains("TopP", Rejected(new GenerationOptions { TopP = topP }).Message);

    [Fact]
    public void Negative_temperature_is_rejected() =>
        Assert.Contains("Temperature", Rejected(new GenerationOptions { Temperature = -1 }).Message);

    [Fact]
    public void Negative_top_k_is_rejected() =>
        Assert.Contains("TopK", Rejected(new GenerationOptions { TopK = -1 }).Message);

    [Fact]
    public void Non_positive_entropy_budget_is_rejected() =>
        Assert.Contains("EbThreshold", Rejected(new GenerationOptions { EbThreshold = 0 }).Message);

    [Fact]
    public void Max_new_tokens_must_be_positive() =>
        Assert.Contains("MaxNewTokens", Rejected(new GenerationOptions { MaxNewTokens = 0 }).Message);

    [Fact]
    public void Stop_ids_outside_the_vocabulary_are_rejected() =>
        Assert.Contains("StopTokenIds", Rejected(new GenerationOptions { StopTokenIds = [FakeConfigs.Vocab] }).Message);

    [Fact]
    public void Unknown_strategy_is_rejected_listing_the_known_ones()
    {
        var error = Rejected(new GenerationOptions { Strategy = "random" });
        Assert.Contains("'random'", error.Message);
        foreach (var name in new[] { "sequential", "low_confidence_static", "low_confidence_dynamic", "entropy_bounded" })
            Assert.Contains(name, error.Message);
    }

    [Fact]
    public void Diffusion_needs_a_mask_token_id() =>
        Assert.Contains("mask_token_id",
            Assert.Throws<GenerationOptionException>(() => new GenerationOptions().Resolve(FakeConfigs.Sdar() with { MaskTokenId = null })).Message);

    [Fact]
    public void Autoregressive_models_ignore_the_diffusion_knobs()
    {
        var resolved = new GenerationOptions { BlockLength = 99, DenoisingSteps = 200 }.Resolve(FakeConfigs.Qwen3());
        Assert.Equal(1, resolved.BlockLength);
    }
}

public class StepScheduleTests
{
    [Theory]
    [InlineData(4, 4, new[] { 1, 1, 1, 1 })]
    [InlineData(4, 2, new[] { 2, 2 })]
    [InlineData(8, 3, new[] { 3, 3, 2 })]
    [InlineData(16, 5, new[] { 4, 3, 3, 3, 3 })]
    [InlineData(4, 1, new[] { 4 })]
    public void Schedule_gives_the_remainder_to_the_first_steps(int block, int steps, int[] expected)
    {
        var schedule = StepSchedule.Build(block, steps);
        Assert.Equal(expected, schedule);
        Assert.Equal(block, schedule.Sum());
    }

    [Fact]
    public void More_steps_than_positions_is_an_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StepSchedule.Build(4, 5));
}
