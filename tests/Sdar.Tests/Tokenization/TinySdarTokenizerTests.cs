using Sdar.Tokenization;

namespace Sdar.Tests.Tokenization;

public class TinySdarTokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden", "tiny-sdar");
    private readonly HfTokenizer _tok = HfTokenizer.FromDirectory(Folder);

    [Theory]
    [InlineData("hello world")]
    [InlineData("The answer is 42.\n\n  indented\ttab")]
    [InlineData("Unicode: 你好, Café, 🍕!")]
    [InlineData("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")]
    public void Tiny_sdar_tokenizer_round_trips(string text)
    {
        IReadOnlyList<int> ids = _tok.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, _tok.VocabSize - 1));
        Assert.Equal(text, _tok.Decode(ids));
    }

    [Fact]
    public void Tiny_sdar_tokenizer_exposes_its_special_tokens_and_config()
    {
        Assert.Equal(512, _tok.VocabSize);
        Assert.Equal(511, _tok.TokenToId("<|MASK|>"));
        Assert.Equal([511], _tok.Encode("<|MASK|>"));
        Assert.Equal("<|endoftext|>", _tok.EosToken);
        Assert.Equal(510, _tok.TokenToId(_tok.EosToken!));
        Assert.Equal("<|endoftext|>", _tok.PadToken);
        Assert.Null(_tok.BosToken);
        Assert.Contains("add_generation_prompt", _tok.ChatTemplate);
        Assert.All(_tok.AddedTokens, t => Assert.True(t.Special));
    }

    [Fact]
    public void Merges_apply_in_rank_order()
    {
        // "Ġt" (rank 1) then "Ġth" (rank 3): " th" is one token.
        Assert.Equal([259], _tok.Encode(" th"));
    }
}
