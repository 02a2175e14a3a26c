using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Decoding;

/// <summary>Stop strings through the engine with the real tiny tokenizer: the text is cut exactly, also across blocks.</summary>
public sealed class StopStringDecodingTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 40, Temperature = 0, IgnoreEos = true, BlockLength = 4 };
    private static readonly int[] Prompt = [201, 141, 171, 282, 228];

    [Fact]
    public void A_stop_string_spanning_a_block_boundary_cuts_the_text_right_before_it()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        var plain = model.Generator.Generate(Prompt, Greedy);
        string text = model.Tokenizer.Decode(plain.TokenIds, skipSpecialTokens: true);
        // Blocks of 4 from position 4: answer tokens 0-2 end block 1, 3-6 are block 2, block 3 starts at answer
        // token 7. The stop begins inside token 6's text and ends inside token 7's, so it spans two streamed blocks.
        int boundary = model.Tokenizer.Decode(plain.TokenIds[..7], skipSpecialTokens: true).Length;
        int before = model.Tokenizer.Decode(plain.TokenIds[..6], skipSpecialTokens: true).Length;
        int after = model.Tokenizer.Decode(plain.TokenIds[..8], skipSpecialTokens: true).Length;
        Assert.True(before < boundary && boundary < after, "the tokens around the boundary must decode to text");
        string stop = text[(before + (boundary - before) / 2)..(boundary + 1)];
        int cut = text.IndexOf(stop, StringComparison.Ordinal);

        var chunks = model.Generator.Stream(Prompt, Greedy with { StopStrings = [stop] }).ToList();
        var result = chunks[^1].Result!;
        Assert.Equal(StopReason.StopString, result.StopReason);
        Assert.Equal(stop, result.StopString);
        Assert.Equal(text[..cut], result.Text);
        Assert.Equal(chunks.SelectMany(c => c.TokenIds), result.TokenIds);
        Assert.Equal(plain.TokenIds[..result.TokenIds.Length], result.TokenIds);
        string kept = model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
        Assert.StartsWith(kept, result.Text);
        Assert.True(result.Text!.Length - kept.Length < model.Tokenizer.Decode(plain.TokenIds[result.TokenIds.Length..(result.TokenIds.Length + 1)], skipSpecialTokens: true).Length + 1);
    }

    [Fact]
    public void Stop_strings_hold_back_only_what_could_still_become_a_stop_and_cost_no_token_otherwise()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        var plain = model.Generator.Generate(Prompt, Greedy);
        var chunks = model.Generator.Stream(Prompt, Greedy with { StopStrings = ["\u0001never\u0002"] }).ToList();
        var result = chunks[^1].Result!;
        Assert.Equal(StopReason.Length, result.StopReason);
        Assert.Null(result.Text);
        Assert.Equal(plain.TokenIds, result.TokenIds);
        Assert.Equal(plain.TokenIds, chunks.SelectMany(c => c.TokenIds));
    }

    [Fact]
    public void Stop_strings_without_a_tokenizer_are_refused_naming_the_field()
    {
        var generator = Generator.For(EngineTestModels.TinySdar);
        var error = Assert.Throws<GenerationOptionException>(() => generator.Generate(Prompt, Greedy with { StopStrings = ["x"] }));
        Assert.Equal("stop", error.Field);
    }
}
