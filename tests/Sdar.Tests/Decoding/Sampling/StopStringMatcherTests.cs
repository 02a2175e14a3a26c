using Sdar.Decoding;
using Sdar.Tokenization;

namespace Sdar.Tests.Decoding.Sampling;

public class StopStringMatcherTests
{
    /// <summary>A decode where token i is the text pieces[i].</summary>
    private static Func<IReadOnlyList<int>, string> Pieces(params string[] pieces) => ids => string.Concat(ids.Select(i => pieces[i]));

    private static int[] Ids(int count) => [.. Enumerable.Range(0, count)];

    [Fact]
    public void Cuts_right_before_the_stop_and_keeps_the_tokens_before_it()
    {
        var matcher = new StopStringMatcher(["\n\nUser"], Pieces("Hello", " wor", "ld", "\n\n", "User", ":"));
        var match = matcher.Find(Ids(6));
        Assert.Equal(new StopMatch(3, "Hello world", "\n\nUser"), match);
    }

    [Fact]
    public void No_stop_string_no_match()
    {
        Assert.Null(new StopStringMatcher(["STOP"], Pieces("ST", "op!")).Find(Ids(2)));
        Assert.Null(new StopStringMatcher([], Pieces("a")).Find(Ids(1)));
    }

    [Fact]
    public void A_token_straddling_the_stop_is_dropped_while_the_text_is_cut_exactly()
    {
        var matcher = new StopStringMatcher(["\n\nUser"], Pieces("ab", "c\n", "\nU", "ser"));
        var match = matcher.Find(Ids(4))!;
        Assert.Equal("abc", match.Text);
        Assert.Equal(1, match.KeepTokens);   // "ab": the next token "c\n" reaches into the stop string
    }

    [Fact]
    public void A_stop_at_the_very_start_keeps_nothing()
    {
        var match = new StopStringMatcher(["##"], Pieces("##", "x")).Find(Ids(2))!;
        Assert.Equal(new StopMatch(0, "", "##"), match);
    }

    [Fact]
    public void The_earliest_stop_wins_and_the_first_listed_breaks_ties()
    {
        var decode = Pieces("Hello", " World", " abc");
        Assert.Equal("Hel", new StopStringMatcher(["World", "lo"], decode).Find(Ids(3))!.Text);
        Assert.Equal("ab", new StopStringMatcher(["abc", "ab"], Pieces("x", "ab", "abc")).Find(Ids(3))!.StopString);
        var tie = new StopStringMatcher(["ab", "abc"], Pieces("x", "abc"));
        Assert.Equal(new StopMatch(1, "x", "ab"), tie.Find(Ids(2)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_stop_spanning_chunks_is_found_in_the_call_that_completes_it(int chunk)
    {
        // "The answer is 42.\n\nUser: more", one character a token, so the stop spans any chunking.
        string text = "The answer is 42.\n\nUser: more";
        var pieces = text.Select(c => c.ToString()).ToArray();
        var matcher = new StopStringMatcher(["\n\nUser"], Pieces(pieces));
        int complete = text.IndexOf("\n\nUser", StringComparison.Ordinal) + "\n\nUser".Length;
        for (int count = chunk; count <= pieces.Length; count += chunk)
        {
            var match = matcher.Find(Ids(count));
            if (count < complete)
            {
                Assert.Null(match);
                continue;
            }
            Assert.Equal(new StopMatch(17, "The answer is 42.", "\n\nUser"), match);
            return;
        }
        Assert.Fail("the stop string was never found");
    }

    [Fact]
    public void Text_that_changes_when_a_character_completes_is_searched_again()
    {
        // Token 1 alone ends inside a character (decodes to U+FFFD); with token 2 it becomes "é". The text grows
        // by no character, yet the new "é" must be searched.
        static string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select((id, i) => id switch
        {
            0 => "caf",
            1 => i + 1 < ids.Count && ids[i + 1] == 2 ? "é" : "\uFFFD",
            _ => "",
        }));
        var matcher = new StopStringMatcher(["é"], Decode);
        Assert.Null(matcher.Find([0, 1]));
        Assert.Equal(new StopMatch(1, "caf", "é"), matcher.Find([0, 1, 2]));
    }

    [Fact]
    public void Asking_again_after_a_match_gives_the_same_match()
    {
        var matcher = new StopStringMatcher(["STOP"], Pieces("go ", "STOP", " more", " and more"));
        var first = matcher.Find(Ids(2));
        Assert.Equal(first, matcher.Find(Ids(3)));
        Assert.Equal(first, matcher.Find(Ids(4)));
    }

    [Fact]
    public void Incremental_search_agrees_with_a_full_search_of_every_prefix()
    {
        var random = new Random(7);
        string Word(int min, int max) => new([.. Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => "ab\n"[random.Next(3)])]);
        for (int trial = 0; trial < 500; trial++)
        {
            var pieces = Enumerable.Range(0, random.Next(1, 30)).Select(_ => Word(0, 3)).ToArray();
            var stops = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Word(1, 4)).ToArray();
            var matcher = new StopStringMatcher(stops, Pieces(pieces));
            int chunk = random.Next(1, 6);
            for (int count = chunk; ; count = Math.Min(count + chunk, pieces.Length))
            {
                count = Math.Min(count, pieces.Length);
                string text = string.Concat(pieces.Take(count));
                var (at, stop) = stops.Select(s => (At: text.IndexOf(s, StringComparison.Ordinal), Stop: s))
                    .Where(f => f.At >= 0).OrderBy(f => f.At).FirstOrDefault((-1, ""));
                var match = matcher.Find(Ids(count));
                string context = $"pieces [{string.Join("|", pieces)}], stops [{string.Join("|", stops)}], {count} tokens";
                if (at < 0)
                {
                    Assert.True(match is null, context);
                }
                else
                {
                    Assert.True(match is not null, context);
                    Assert.Equal(text[..at], match.Text);
                    Assert.Equal(stop, match.StopString);
                    break;
                }
                if (count == pieces.Length) break;
            }
        }
    }

    [Fact]
    public void Empty_stop_strings_are_refused() =>
        Assert.Throws<ArgumentException>(() => new StopStringMatcher(["ok", ""], Pieces("a")));

    public class With_a_real_tokenizer
    {
        private static readonly HfTokenizer Tokenizer =
            HfTokenizer.FromDirectory(Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden", "tiny-sdar"));

        private static string Decode(IReadOnlyList<int> ids) => Tokenizer.Decode(ids);

        [Theory]
        [InlineData("The answer is 42.\n\nUser: next question", "\n\nUser", "The answer is 42.")]
        [InlineData("Unicode: 你好, Café, 🍕! then STOP and more", " STOP", "Unicode: 你好, Café, 🍕! then")]
        [InlineData("a<|im_end|>b", "<|im_end|>", "a")]
        [InlineData("1 + 1 = 2. Done", "=", "1 + 1 ")]
        public void Cuts_the_decoded_answer_exactly_at_every_chunking(string answer, string stop, string expected)
        {
            int[] ids = [.. Tokenizer.Encode(answer)];
            foreach (int chunk in new[] { 1, 3, 4, ids.Length })
            {
                var matcher = new StopStringMatcher([stop], Decode);
                StopMatch? match = null;
                for (int count = Math.Min(chunk, ids.Length); match is null; count = Math.Min(count + chunk, ids.Length))
                {
                    match = matcher.Find(ids[..count]);
                    if (count == ids.Length) break;
                }
                Assert.NotNull(match);
                Assert.Equal(expected, match.Text);
                string kept = Decode(ids[..match.KeepTokens]);
                Assert.StartsWith(kept, expected, StringComparison.Ordinal);
                Assert.False(expected.StartsWith(Decode(ids[..(match.KeepTokens + 1)]), StringComparison.Ordinal),
                    "one more token would reach into the stop string");
            }
        }
    }
}
