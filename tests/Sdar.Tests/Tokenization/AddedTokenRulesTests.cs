using System.Text.Json.Nodes;

namespace Sdar.Tests.Tokenization;

public sealed class AddedTokenRulesTests : IDisposable
{
    private readonly SyntheticTokenizer _t = new();

    public void Dispose() => _t.Dispose();

    [Fact]
    public void Merges_in_string_and_pair_form_give_the_same_model()
    {
        int hello = _t.IdOf("hello"), wo = _t.IdOf("Ġwo");
        Assert.Equal([hello, wo, _t.IdOf("r"), _t.IdOf("l"), _t.IdOf("d")], _t.Load().Encode("hello world"));

        _t.Model["merges"] = new JsonArray("h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o");
        Assert.Equal([hello, wo, _t.IdOf("r"), _t.IdOf("l"), _t.IdOf("d")], _t.Load().Encode("hello world"));
    }

    [Fact]
    public void Merge_rank_decides_between_competing_pairs()
    {
        JsonObject vocab = _t.Model["vocab"]!.AsObject();
        vocab["ab"] = 300;
        vocab["bc"] = 301;
        _t.Model["merges"] = new JsonArray("a b", "b c");
        Assert.Equal([300, _t.IdOf("c")], _t.Load().Encode("abc"));
        _t.Model["merges"] = new JsonArray("b c", "a b");
        Assert.Equal([_t.IdOf("a"), 301], _t.Load().Encode("abc"));
    }

    [Fact]
    public void Without_merges_text_stays_in_single_bytes()
    {
        _t.Model["merges"] = new JsonArray();
        Assert.Equal("hello".Select(c => _t.IdOf(c.ToString())), _t.Load().Encode("hello"));
    }

    [Fact]
    public void Added_tokens_are_matched_longest_first()
    {
        _t.AddToken(300, "<a>");
        _t.AddToken(301, "<a><b>");
        var tok = _t.Load();
        Assert.Equal([301], tok.Encode("<a><b>"));
        Assert.Equal([300, _t.IdOf("x")], tok.Encode("<a>x"));
        Assert.Equal([301, 300], tok.Encode("<a><b><a>"));
    }

    [Fact]
    public void Added_tokens_are_matched_before_normalisation()
    {
        // An unnormalised token written decomposed matches only the raw text, before NFC would compose it.
        _t.AddToken(300, "e\u0301", normalized: false);
        var tok = _t.Load();
        Assert.Equal([300], tok.Encode("e\u0301"));
        Assert.DoesNotContain(300, tok.Encode("\u00E9"));
        Assert.Equal("\u00E9", tok.Decode(tok.Encode("\u00E9")));
    }

    [Fact]
    public void Normalised_added_tokens_are_matched_after_normalisation()
    {
        _t.AddToken(300, "\u00E9", normalized: true);
        var tok = _t.Load();
        Assert.Equal([300], tok.Encode("e\u0301"));
        Assert.Equal([300], tok.Encode("\u00E9"));
    }

    [Fact]
    public void Lstrip_and_rstrip_tokens_swallow_the_whitespace_beside_them()
    {
        _t.AddToken(300, "<mask>", lstrip: true, rstrip: true);
        var tok = _t.Load();
        Assert.Equal([_t.IdOf("a"), 300, _t.IdOf("b")], tok.Encode("a  <mask>\n b"));
    }

    [Fact]
    public void Single_word_tokens_match_only_as_whole_words()
    {
        _t.AddToken(300, "he", singleWord: true);
        var tok = _t.Load();
        Assert.Contains(300, tok.Encode("say he said"));
        Assert.DoesNotContain(300, tok.Encode("hello"));
    }

    [Fact]
    public void Skip_special_tokens_keeps_non_special_added_tokens()
    {
        _t.AddToken(300, "<s>", special: true);
        _t.AddToken(301, "<think>", special: false);
        var tok = _t.Load();
        IReadOnlyList<int> ids = tok.Encode("<s><think>hello");
        Assert.Equal("<think>hello", tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<s><think>hello", tok.Decode(ids));
        Assert.True(tok.IsSpecial(300));
        Assert.False(tok.IsSpecial(301));
        Assert.Equal(302, tok.VocabSize);
    }

    [Fact]
    public void Added_tokens_outside_the_byte_alphabet_decode_as_their_own_text()
    {
        _t.AddToken(300, "<| 你好 |>");
        var tok = _t.Load();
        Assert.Equal([300], tok.Encode("<| 你好 |>"));
        Assert.Equal("a<| 你好 |>", tok.Decode([_t.IdOf("a"), 300]));
    }

    [Fact]
    public void Gpt2_style_byte_level_splits_and_adds_a_prefix_space()
    {
        _t.Json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["use_regex"] = true };
        var tok = _t.Load();
        Assert.Equal([_t.IdOf("Ġwo"), _t.IdOf("r"), _t.IdOf("l"), _t.IdOf("d")], tok.Encode("world"));
        Assert.Equal(" world", tok.Decode(tok.Encode("world")));
    }

    [Fact]
    public void Without_a_normalizer_text_is_left_as_written()
    {
        _t.Json["normalizer"] = null;
        var tok = _t.Load();
        Assert.NotEqual(tok.Encode("\u00E9"), tok.Encode("e\u0301"));
    }
}
