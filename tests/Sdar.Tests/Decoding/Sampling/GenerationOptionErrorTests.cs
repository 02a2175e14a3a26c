using Sdar.Decoding;

namespace Sdar.Tests.Decoding.Sampling;

/// <summary>Every check in Resolve throws a <see cref="GenerationOptionException"/> that carries field, expectation and value.</summary>
public class GenerationOptionErrorTests
{
    private static GenerationOptionException Rejected(GenerationOptions options, int promptLength = 0) =>
        Assert.Throws<GenerationOptionException>(() => options.Resolve(FakeConfigs.Sdar(), promptLength));

    public static TheoryData<string, GenerationOptions, string, string> Cases() => new()
    {
        { "max_new_tokens", new() { MaxNewTokens = 0 }, "at least 1", "0" },
        { "block_length", new() { BlockLength = 0 }, "at least 1", "0" },
        { "denoising_steps", new() { BlockLength = 4, DenoisingSteps = 5 }, "between 1 and the block length 4", "5" },
        { "remasking_strategy", new() { Strategy = "random" }, $"one of: {string.Join(", ", UnmaskingStrategies.Names)}", "'random'" },
        { "confidence_threshold", new() { ConfidenceThreshold = 0 }, "in (0, 1]", "0" },
        { "eb_threshold", new() { EbThreshold = -1 }, "a finite number > 0", "-1" },
        { "temperature", new() { Temperature = double.NaN }, "a finite number >= 0 (0 = greedy)", "NaN" },
        { "top_k", new() { TopK = -3 }, ">= 0 (0 = off)", "-3" },
        { "top_p", new() { TopP = 1.5 }, "in (0, 1] (1 = off)", "1.5" },
        { "min_p", new() { MinP = -0.1 }, "in [0, 1] (0 = off)", "-0.1" },
        { "min_p", new() { MinP = 1.01 }, "in [0, 1] (0 = off)", "1.01" },
        { "stop_token_ids", new() { StopTokenIds = [16] }, "token ids in 0..15", "16" },
        { "stop", new() { StopStrings = ["ok", ""] }, "non-empty strings", "''" },
        { "logit_bias", new() { LogitBias = new Dictionary<int, double> { [16] = 1 } }, "token ids in 0..15", "16" },
        { "logit_bias", new() { LogitBias = new Dictionary<int, double> { [3] = -100.5 } }, "biases in [-100, 100]", "-100.5 for token 3" },
        { "logit_bias", new() { LogitBias = new Dictionary<int, double> { [3] = double.PositiveInfinity } }, "biases in [-100, 100]", "Infinity for token 3" },
        { "repetition_penalty", new() { RepetitionPenalty = 0 }, "a finite number > 0 (1 = off)", "0" },
        { "presence_penalty", new() { PresencePenalty = 2.5 }, "in [-2, 2] (0 = off)", "2.5" },
        { "frequency_penalty", new() { FrequencyPenalty = -2.01 }, "in [-2, 2] (0 = off)", "-2.01" },
        { "frequency_penalty", new() { FrequencyPenalty = double.NaN }, "in [-2, 2] (0 = off)", "NaN" },
        { "penalty_last_n", new() { PenaltyLastN = -2 }, "at least -1 (-1 = every token, 0 = off)", "-2" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_bad_option_names_its_field_what_was_expected_and_what_was_given(string field, GenerationOptions options, string expected, string given)
    {
        var error = Rejected(options);
        Assert.Equal(field, error.Field);
        Assert.Equal(expected, error.Expected);
        Assert.Equal(given, error.Given);
        Assert.Contains($"({field})", error.Message);
        Assert.Contains(given, error.Message);
    }

    [Fact]
    public void The_message_reads_as_before_and_can_name_the_option_otherwise()
    {
        var error = Rejected(new GenerationOptions { TopP = 1.5 });
        Assert.Equal("TopP (top_p) must be in (0, 1] (1 = off); got 1.5", error.Message);
        Assert.Equal("--top-p must be in (0, 1] (1 = off); got 1.5", error.MessageNaming("--top-p"));
        Assert.Null(error.ParamName);   // no " (Parameter ...)" tail on the message
    }

    [Fact]
    public void A_value_that_looks_like_the_placeholder_is_left_alone()
    {
        var error = Rejected(new GenerationOptions { Strategy = "{option}" });
        Assert.Equal("--strategy '{option}' is unknown; expected one of: ", error.MessageNaming("--strategy")[..51]);
    }

    [Fact]
    public void The_context_limit_is_an_error_of_max_new_tokens_with_the_largest_value_that_fits()
    {
        var config = FakeConfigs.Sdar() with { MaxPositionEmbeddings = 64 };
        var error = Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MaxNewTokens = 40 }.Resolve(config, promptLength: 30));
        Assert.Equal("max_new_tokens", error.Field);
        Assert.Equal("40", error.Given);
        Assert.StartsWith("at most 34,", error.Expected);   // 30 + 34 = 64 positions, a whole number of blocks of 4
        Assert.Contains("the prompt (30 tokens) + MaxNewTokens (max_new_tokens) 40, rounded up to whole blocks of 4, need 72 positions", error.Message);
        Assert.Contains("the prompt (30 tokens) + --max-new-tokens 40,", error.MessageNaming("--max-new-tokens"));
    }

    [Fact]
    public void A_checkpoint_without_a_mask_id_is_an_error_of_the_model()
    {
        var error = Assert.Throws<GenerationOptionException>(() => new GenerationOptions().Resolve(FakeConfigs.Sdar() with { MaskTokenId = null }));
        Assert.Equal("model", error.Field);
        Assert.Equal("none", error.Given);
        Assert.Equal(error.Message, error.MessageNaming("--anything"));   // it names no option
    }

    [Fact]
    public void Good_new_options_resolve()
    {
        var options = new GenerationOptions
        {
            MinP = 1, RepetitionPenalty = 0.5, PresencePenalty = -2, FrequencyPenalty = 2, PenaltyLastN = -1,
            LogitBias = new Dictionary<int, double> { [0] = -100, [15] = 100 }, StopStrings = ["\n\n", "User:"], FusedCommit = false,
        };
        Assert.Same(options, options.Resolve(FakeConfigs.Sdar()).Options);
    }

    [Fact]
    public void New_options_default_to_off()
    {
        var options = new GenerationOptions();
        Assert.Equal(0, options.MinP);
        Assert.Equal(1, options.RepetitionPenalty);
        Assert.Equal(0, options.PresencePenalty);
        Assert.Equal(0, options.FrequencyPenalty);
        Assert.Equal(64, options.PenaltyLastN);
        Assert.Empty(options.LogitBias);
        Assert.Empty(options.StopStrings);
        Assert.True(options.FusedCommit);
    }
}
