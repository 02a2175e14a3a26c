using System.Text;
using System.Text.RegularExpressions;
using Sdar.Tokenization;

namespace Sdar.Tests.Tokenization;

public class PreTokenizerAndNormalizerTests
{
    private static string[] Pieces(string text, string pattern = SyntheticTokenizer.QwenPattern) =>
        new SplitPreTokenizer([new Regex(pattern)]).PreTokenize(text).Select(p => text.Substring(p.Offset, p.Length)).ToArray();

    [Fact]
    public void Qwen_regex_splits_words_digits_and_contractions()
    {
        Assert.Equal(["Hello", ",", " world", "!"], Pieces("Hello, world!"));
        Assert.Equal(["1", "2", "3", " items"], Pieces("123 items"));
        Assert.Equal(["I", "'M", " HE", "'S"], Pieces("I'M HE'S"));
        Assert.Equal(["a", "  ", " b", "\n\n"], Pieces("a   b\n\n"));
    }

    [Fact]
    public void Astral_characters_count_as_one_code_point_of_their_category()
    {
        // Oniguruma sees 🍕 as one non-letter character, so it may lead a word, as "x" in "!abc" would.
        Assert.Equal(["🍕abc"], Pieces("🍕abc"));
        // Mathematical bold letters (U+1D400..) are letters; bold digits are digits, one piece each.
        Assert.Equal(["𝐀𝐁𝐂", " x"], Pieces("𝐀𝐁𝐂 x"));
        Assert.Equal(["𝟏", "𝟐"], Pieces("𝟏𝟐"));
        Assert.Equal(["a", " 😀😀", " b"], Pieces("a 😀😀 b"));
    }

    [Fact]
    public void Isolated_split_keeps_the_text_between_matches()
    {
        Assert.Equal(["x", "a", "yz", "a"], Pieces("xayza", "a"));
        Assert.Equal(["😀", "a", "😀"], Pieces("😀a😀", "a"));
    }

    [Theory]
    [InlineData("Cafe\u0301", "Caf\u00E9")]
    [InlineData("\u212B", "\u00C5")]                       // a singleton: ANGSTROM SIGN becomes Å
    [InlineData("\u0958", "\u0915\u093C")]                 // excluded from composition: stays decomposed
    [InlineData("a\u0302\u0323", "\u1EAD")]                 // marks reordered (dot below first), then both compose
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]           // Hangul jamo L V T compose to one syllable
    [InlineData("e\u0308\u0301", "\u00EB\u0301")]          // the second mark is blocked by the first
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc_composes_canonically(string input, string expected)
    {
        string nfc = CanonicalNormalizer.Normalize(input, NormalizationForm.FormC);
        Assert.Equal(Hex(expected), Hex(nfc));
    }

    [Fact]
    public void Nfd_decomposes_and_orders_marks()
    {
        Assert.Equal(Hex("a\u0323\u0302"), Hex(CanonicalNormalizer.Normalize("\u1EAD", NormalizationForm.FormD)));
        Assert.Equal(Hex("a\u0323\u0302"), Hex(CanonicalNormalizer.Normalize("a\u0302\u0323", NormalizationForm.FormD)));
        Assert.Equal(Hex("\u1100\u1161\u11A8"), Hex(CanonicalNormalizer.Normalize("\uAC01", NormalizationForm.FormD)));
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4")));
}
