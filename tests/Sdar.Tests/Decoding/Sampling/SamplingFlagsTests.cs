using System.CommandLine;
using System.Text.Json;
using Sdar.Cli;
using Sdar.Cli.Commands;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Decoding.Sampling;

/// <summary>The sampling flags of generate and eval: what they read into, and errors that name the flag.</summary>
public class SamplingFlagsTests
{
    private static (GenerationOptions? Options, IReadOnlyList<string> Errors) Parse(params string[] args)
    {
        var flags = new GenerationFlags();
        var command = new Command("generate");
        flags.AddTo(command);
        var parse = command.Parse(args);
        return parse.Errors.Count > 0
            ? (null, parse.Errors.Select(e => e.Message).ToList())
            : (flags.Read(parse, GenerationConfig.Empty), []);
    }

    [Fact]
    public void Flags_read_into_the_options()
    {
        var (options, errors) = Parse("--min-p", "0.05", "--repetition-penalty", "1.3", "--presence-penalty", "-0.5",
            "--frequency-penalty", "2", "--penalty-last-n", "-1", "--logit-bias", "42=-100,7=2.5", "--logit-bias", "9=1e1",
            "--stop", "\n\nUser", "--stop", "</s>", "--fused-commit", "false");
        Assert.Empty(errors);
        Assert.Equal(0.05, options!.MinP);
        Assert.Equal(1.3, options.RepetitionPenalty);
        Assert.Equal(-0.5, options.PresencePenalty);
        Assert.Equal(2, options.FrequencyPenalty);
        Assert.Equal(-1, options.PenaltyLastN);
        Assert.Equal(new Dictionary<int, double> { [42] = -100, [7] = 2.5, [9] = 10 }, options.LogitBias);
        Assert.Equal(["\n\nUser", "</s>"], options.StopStrings);
        Assert.False(options.FusedCommit);
    }

    [Fact]
    public void Without_the_flags_everything_is_off_and_commits_are_fused()
    {
        var (options, _) = Parse();
        Assert.Equal(new GenerationOptions().MinP, options!.MinP);
        Assert.Equal(1, options.RepetitionPenalty);
        Assert.Equal(0, options.PresencePenalty + options.FrequencyPenalty);
        Assert.Equal(GenerationOptions.DefaultPenaltyLastN, options.PenaltyLastN);
        Assert.Empty(options.LogitBias);
        Assert.Empty(options.StopStrings);
        Assert.True(options.FusedCommit);
    }

    [Theory]
    [InlineData("--logit-bias", "5=abc", "--logit-bias: expected ID=BIAS pairs", "got '5=abc'")]
    [InlineData("--logit-bias", "5", "--logit-bias: expected ID=BIAS pairs", "got '5'")]
    [InlineData("--logit-bias", "-5=1", "--logit-bias: expected ID=BIAS pairs", "got '-5=1'")]
    [InlineData("--logit-bias", "1=2,5=101", "--logit-bias: expected ID=BIAS pairs", "got '5=101'")]
    [InlineData("--logit-bias", "5=NaN", "--logit-bias: expected ID=BIAS pairs", "got '5=NaN'")]
    [InlineData("--logit-bias", ",", "--logit-bias: expected at least one ID=BIAS pair", "got ','")]
    [InlineData("--min-p", "1.5", "--min-p: expected a number in [0, 1]", "got '1.5'")]
    [InlineData("--repetition-penalty", "0", "--repetition-penalty: expected a number above 0", "got '0'")]
    [InlineData("--presence-penalty", "3", "--presence-penalty: expected a number in [-2, 2]", "got '3'")]
    [InlineData("--frequency-penalty", "-2.5", "--frequency-penalty: expected a number in [-2, 2]", "got '-2.5'")]
    [InlineData("--penalty-last-n", "-2", "--penalty-last-n: expected an integer from -1 to", "got '-2'")]
    [InlineData("--fused-commit", "maybe", "--fused-commit: expected true or false", "got 'maybe'")]
    public void Bad_values_are_refused_naming_the_flag(string flag, string value, string expected, string given)
    {
        var (_, errors) = Parse(flag, value);
        string error = Assert.Single(errors);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(given, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--logit-bias", "600=1", "--logit-bias must be token ids in 0..511; got 600")]
    [InlineData("--stop", "", "--stop must be non-empty strings; got ''")]
    public void Values_the_model_refuses_name_the_flag(string flag, string value, string expected)
    {
        var (code, output, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hi", flag, value);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void A_bias_of_100_forces_its_token()
    {
        var (code, output, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hi", "-n", "8", "-t", "0",
            "--ignore-eos", "--logit-bias", "65=100", "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var ids = json.RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(Enumerable.Repeat(65, 8), ids);
    }

    [Fact]
    public void An_option_error_wrapped_with_context_still_names_the_flag()
    {
        var inner = Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MinP = 2 }.Resolve(FakeConfigs.Sdar()));
        var error = Assert.Throws<ArgumentException>(() =>
            GenerationFlags.InFlagTerms<int>(() => throw new ArgumentException($"question 2 of the data: {inner.Message}", inner)));
        Assert.Equal("question 2 of the data: --min-p must be in [0, 1] (0 = off); got 2", error.Message);
    }

    [Fact]
    public void Other_errors_pass_unchanged()
    {
        var original = new ArgumentException("TopP (top_p) in some other words");
        Assert.Same(original, Assert.Throws<ArgumentException>(() => GenerationFlags.InFlagTerms<int>(() => throw original)));
    }
}
