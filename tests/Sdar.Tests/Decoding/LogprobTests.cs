using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Decoding;

public sealed class LogprobTests
{
    private static readonly int[] Prompt = [201, 141, 171, 282, 228];

    [Fact]
    public void A_row_gives_its_log_softmax_and_the_most_likely_tokens_in_order()
    {
        float[] logits = [1f, 3f, -2f, 3f, 0.5f];
        double logZ = Math.Log(logits.Sum(x => Math.Exp(x)));
        var result = TokenLogprobs.Of(logits, 4, alternatives: 3);
        Assert.Equal(0.5 - logZ, result.Logprob, 5);
        Assert.Equal([1, 3, 0], result.Top.Select(t => t.TokenId));   // equal logits: the lower id first
        Assert.Equal(3 - logZ, result.Top[0].Logprob, 5);
        Assert.Equal(1.0, logits.Select((x, i) => Math.Exp(TokenLogprobs.Of(logits, i, 0).Logprob)).Sum(), 5);
        Assert.Equal(5, TokenLogprobs.Of(logits, 0, 20).Top.Count);   // never more than the vocabulary
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenLogprobs.Of(logits, 0, 21));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Greedy_answers_carry_a_logprob_per_token_whose_best_alternative_is_the_token(bool diffusion)
    {
        using var model = LoadedModel.Open(diffusion ? CliRunner.TinySdar : CliRunner.TinyQwen3);
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 0, IgnoreEos = true, BlockLength = 4, Logprobs = 2 };
        var chunks = model.Generator.Stream(Prompt, options).ToList();
        var result = chunks[^1].Result!;
        var logprobs = result.Logprobs!;
        Assert.Equal(result.TokenIds, logprobs.Select(l => l.TokenId));
        Assert.Equal(logprobs, chunks.SelectMany(c => c.Logprobs ?? []));
        foreach (var l in logprobs)
        {
            Assert.True(l.Logprob <= 0);
            Assert.Equal(2, l.Top.Count);
            Assert.Equal(l.TokenId, l.Top[0].TokenId);   // greedy commits the argmax of the raw row
            Assert.Equal(l.Logprob, l.Top[0].Logprob);
            Assert.True(l.Top[1].Logprob <= l.Top[0].Logprob);
        }
        // Asking for logprobs changes nothing else.
        Assert.Equal(model.Generator.Generate(Prompt, options with { Logprobs = null }).TokenIds, result.TokenIds);
        Assert.Null(model.Generator.Generate(Prompt, options with { Logprobs = null }).Logprobs);
    }

    [Fact]
    public void A_stop_string_cuts_the_logprobs_with_the_tokens()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 0, IgnoreEos = true, BlockLength = 4, Logprobs = 0 };
        var plain = model.Generator.Generate(Prompt, options);
        string text = model.Tokenizer.Decode(plain.TokenIds, skipSpecialTokens: true);
        var cut = model.Generator.Generate(Prompt, options with { StopStrings = [text.Substring(text.Length / 2, 2)] });
        Assert.True(cut.TokenIds.Length < plain.TokenIds.Length);
        Assert.Equal(plain.Logprobs!.Take(cut.TokenIds.Length), cut.Logprobs!);
        Assert.All(cut.Logprobs!, l => Assert.Empty(l.Top));
    }

    [Fact]
    public void Too_many_alternatives_are_refused_naming_the_field()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        var error = Assert.Throws<GenerationOptionException>(() => model.Generator.Generate(Prompt, new GenerationOptions { Logprobs = 21 }));
        Assert.Equal("top_logprobs", error.Field);
    }
}
