using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sdar.Data;
using Sdar.Tokenization;

namespace Sdar.Tests.Tokenization;

public sealed class BpeTrainerTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures");
    private static readonly IReadOnlyList<string> Corpus =
        [.. TaskSuite.Generate(seed: 11, count: 1500).Select(SyntheticDataset.PretrainText)];
    private static readonly Lazy<TrainedBpe> Trained = new(() => BpeTrainer.Train(Corpus, vocabSize: 768));

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sdar-bpe-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Reaches_the_requested_vocabulary_size_special_tokens_included()
    {
        var bpe = Trained.Value;
        Assert.Equal(768, bpe.VocabSize);
        Assert.Equal(768 - BpeTrainer.DefaultSpecialTokens.Count, bpe.Tokens.Count);
        Assert.Equal(bpe.Tokens.Count, bpe.Tokens.Distinct().Count());
    }

    [Fact]
    public void The_base_vocabulary_is_the_256_bytes_in_qwen_order()
    {
        using var qwen = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "qwen3-tokenizer", "tokenizer.json")));
        var qwenVocab = qwen.RootElement.GetProperty("model").GetProperty("vocab");
        var bpe = Trained.Value;
        for (int id = 0; id < 256; id++)
            Assert.Equal(id, qwenVocab.GetProperty(bpe.Tokens[id]).GetInt32());
    }

    [Fact]
    public void Every_merge_joins_two_earlier_tokens_into_a_vocabulary_token()
    {
        var bpe = Trained.Value;
        Assert.Equal(bpe.Merges.Count, bpe.Merges.Distinct().Count());
        var madeBy = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (left, right) in bpe.Merges)
        {
            int merged = bpe.IdOf(left + right);
            Assert.True(bpe.IdOf(left) < merged && bpe.IdOf(right) < merged, $"{left} + {right}");
            madeBy.Add(left + right);
        }

        Assert.All(bpe.Tokens.Skip(256), token => Assert.Contains(token, madeBy));
    }

    [Fact]
    public void Special_tokens_take_the_ids_after_the_bpe_vocabulary()
    {
        var bpe = Trained.Value;
        for (int i = 0; i < BpeTrainer.DefaultSpecialTokens.Count; i++)
            Assert.Equal(bpe.Tokens.Count + i, bpe.IdOf(BpeTrainer.DefaultSpecialTokens[i]));
        Assert.Equal(767, bpe.IdOf("<|MASK|>"));
    }

    [Fact]
    public void Special_tokens_in_the_training_text_are_never_merged()
    {
        var chats = Corpus.Take(300).Select(t => $"<|im_start|>user\n{t}<|im_end|>\n<|endoftext|>");
        var bpe = BpeTrainer.Train(chats, 700);
        Assert.DoesNotContain(bpe.Tokens, t => t.Contains("im_", StringComparison.Ordinal) || t.Contains("<|", StringComparison.Ordinal));
    }

    [Fact]
    public void Matches_a_naive_trainer_that_recounts_every_pair_at_every_step()
    {
        var texts = Corpus.Take(200).ToList();
        var fast = BpeTrainer.Train(texts, 600, specialTokens: []);
        var naive = NaiveBpe.Train(texts, 600);
        Assert.Equal(naive, fast.Merges);
    }

    [Fact]
    public void Frequent_words_become_single_tokens()
    {
        var encoder = new ReferenceEncoder(Trained.Value);
        foreach (string word in new[] { " dollars", " each", " How", " many", "####" })
            Assert.Single(encoder.Encode(word));
        Assert.Equal(3, encoder.Encode("123").Count); // digits are always single pieces
    }

    [Theory]
    [InlineData("Tom buys 3 apples for 2 dollars each.\n3 * 2 = 6.\n#### 6")]
    [InlineData("  leading spaces, tabs\tand\r\nwindows lines\n\n\n")]
    [InlineData("Unicode: café, naïve, Ελληνικά, 中文, emoji 🍕 and he's, I'LL, we'd")]
    [InlineData("<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n#### 4<|im_end|><|MASK|>")]
    [InlineData("")]
    public void A_reference_encoder_with_the_merges_round_trips_text(string text)
    {
        var encoder = new ReferenceEncoder(Trained.Value);
        var ids = encoder.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, Trained.Value.VocabSize - 1));
        Assert.Equal(text, encoder.Decode(ids));
    }

    [Fact]
    public void The_reference_encoder_round_trips_the_whole_corpus_compactly()
    {
        var encoder = new ReferenceEncoder(Trained.Value);
        long tokens = 0, bytes = 0;
        foreach (string text in Corpus)
        {
            var ids = encoder.Encode(text);
            Assert.Equal(text, encoder.Decode(ids));
            tokens += ids.Count;
            bytes += Encoding.UTF8.GetByteCount(text);
        }

        Assert.True(bytes / (double)tokens > 2.0, $"{bytes / (double)tokens:F2} bytes per token");
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var texts = Corpus.Take(300).ToList();
        Assert.Equal(BpeTrainer.Train(texts, 500).Merges, BpeTrainer.Train(texts, 500).Merges);
    }

    [Fact]
    public void Stops_early_when_no_pair_is_frequent_enough()
    {
        var bpe = BpeTrainer.Train(["ab ab ab xyz"], 1000);
        Assert.True(bpe.VocabSize < 1000);
        Assert.Contains("ab", bpe.Tokens);
        Assert.DoesNotContain("xy", bpe.Tokens);
    }

    [Fact]
    public void Rejects_a_vocabulary_smaller_than_the_bytes_and_special_tokens()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(Corpus, 256 + 5));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(Corpus, 1000, ["<a>", "<a>"]));
    }

    [Fact]
    public void Saves_a_tokenizer_json_laid_out_like_qwen3()
    {
        Trained.Value.Save(_dir, File.ReadAllText(Path.Combine(Fixtures, "chat-template", "qwen3.jinja")));
        using var ours = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, TrainedBpe.TokenizerFile)));
        using var qwen = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "qwen3-tokenizer", "tokenizer.json")));
        var o = ours.RootElement;
        var q = qwen.RootElement;

        Assert.Equal(Names(q), Names(o));
        foreach (string section in new[] { "truncation", "padding", "normalizer", "pre_tokenizer", "post_processor", "decoder" })
            Assert.Equal(JsonSerializer.Serialize(q.GetProperty(section)), JsonSerializer.Serialize(o.GetProperty(section)));
        Assert.Equal(Names(q.GetProperty("model")), Names(o.GetProperty("model")));
        foreach (string key in Names(q.GetProperty("model")).Except(["vocab", "merges"]))
            Assert.Equal(q.GetProperty("model").GetProperty(key).GetRawText(), o.GetProperty("model").GetProperty(key).GetRawText());
        Assert.Equal(Names(q.GetProperty("added_tokens")[0]), Names(o.GetProperty("added_tokens")[0]));

        var added = o.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(BpeTrainer.DefaultSpecialTokens, added.Select(a => a.GetProperty("content").GetString()));
        Assert.All(added, a => Assert.True(a.GetProperty("special").GetBoolean()));
        Assert.Equal(Enumerable.Range(762, 6), added.Select(a => a.GetProperty("id").GetInt32()));

        var vocab = o.GetProperty("model").GetProperty("vocab").EnumerateObject().ToList();
        Assert.Equal(Trained.Value.Tokens, vocab.Select(p => p.Name));
        Assert.Equal(Enumerable.Range(0, vocab.Count), vocab.Select(p => p.Value.GetInt32()));
        var merges = o.GetProperty("model").GetProperty("merges").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Equal(Trained.Value.Merges.Select(m => m.Left + " " + m.Right), merges);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Saves_a_tokenizer_config_with_the_chat_template_and_eos_and_pad()
    {
        string template = File.ReadAllText(Path.Combine(Fixtures, "chat-template", "qwen3.jinja"));
        Trained.Value.Save(_dir, template);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, TrainedBpe.TokenizerConfigFile)));
        var c = config.RootElement;
        Assert.Equal(template, c.GetProperty("chat_template").GetString());
        Assert.Equal("<|im_end|>", c.GetProperty("eos_token").GetString());
        Assert.Equal("<|endoftext|>", c.GetProperty("pad_token").GetString());
        Assert.Equal("<|MASK|>", c.GetProperty("mask_token").GetString());
        Assert.Equal("Qwen2Tokenizer", c.GetProperty("tokenizer_class").GetString());
        Assert.Equal("<|MASK|>", c.GetProperty("added_tokens_decoder").GetProperty("767").GetProperty("content").GetString());

        string[] merges = File.ReadAllLines(Path.Combine(_dir, TrainedBpe.MergesFile));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(Trained.Value.Merges.Count, merges.Length - 1);
        using var vocab = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, TrainedBpe.VocabFile)));
        Assert.Equal(Trained.Value.Tokens.Count, vocab.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public void HfTokenizer_loads_the_saved_folder_and_encodes_like_the_reference_encoder()
    {
        Trained.Value.Save(_dir, ChatTemplates.Qwen3);
        var hf = HfTokenizer.FromDirectory(_dir);
        var reference = new ReferenceEncoder(Trained.Value);
        Assert.Equal(Trained.Value.VocabSize, hf.VocabSize);
        Assert.Equal("<|im_end|>", hf.EosToken);
        Assert.Equal("<|endoftext|>", hf.PadToken);
        Assert.Equal(ChatTemplates.Qwen3, hf.ChatTemplate);
        foreach (string special in BpeTrainer.DefaultSpecialTokens)
        {
            Assert.Equal(Trained.Value.IdOf(special), hf.TokenToId(special));
            Assert.True(hf.IsSpecial(Trained.Value.IdOf(special)));
        }

        string[] extra =
        [
            "  leading spaces, tabs\tand\r\nwindows lines\n\n\n",
            "Unicode: café, naïve, Ελληνικά, 中文 and he's, I'LL, we'd",
            "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n#### 4<|im_end|><|MASK|>",
        ];
        foreach (string text in Corpus.Take(300).Concat(extra))
        {
            var ids = hf.Encode(text);
            Assert.Equal(reference.Encode(text), ids);
            Assert.Equal(text, hf.Decode(ids));
        }
    }

    [Fact]
    public void Training_text_is_nfc_normalised_as_the_tokenizer_will_see_it()
    {
        // "e" + combining acute (U+0301) is "é" after NFC: the merge must be learned on the composed form.
        var bpe = BpeTrainer.Train(Enumerable.Repeat("cafe\u0301 cafe\u0301", 10), 300, specialTokens: []);
        // " café" in the byte alphabet: space = 'Ġ', é = bytes C3 A9 = "Ã©".
        Assert.Contains("ĠcafÃ©", bpe.Tokens);
        Assert.DoesNotContain(bpe.Tokens.Skip(256), t => t.Contains('Ì', StringComparison.Ordinal)); // U+0301 starts with byte CC
    }

    private static List<string> Names(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name)];
}

/// <summary>
/// The plainest BPE encoder, used as the specification of what the trained merges mean: special tokens first
/// (leftmost, longest), the Qwen2 split regex, the byte alphabet, then repeatedly merge the adjacent pair of
/// lowest rank (all its occurrences, left to right) until no pair has a rank.
/// </summary>
internal sealed class ReferenceEncoder
{
    private static readonly Regex Split = new(BpeTrainer.SplitPattern);
    private readonly TrainedBpe _bpe;
    private readonly Dictionary<(string, string), int> _ranks = new();
    private readonly Regex _specials;
    private readonly Dictionary<char, byte> _byteOfChar = new();

    public ReferenceEncoder(TrainedBpe bpe)
    {
        _bpe = bpe;
        for (int i = 0; i < bpe.Merges.Count; i++)
            _ranks[bpe.Merges[i]] = i;
        _specials = new Regex(string.Join("|", bpe.SpecialTokens.OrderByDescending(s => s.Length).Select(Regex.Escape)));
        // The alphabet from its definition: printable Latin-1 bytes stand for themselves, the rest shift to U+0100..
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            _byteOfChar[printable ? (char)b : (char)(256 + shifted++)] = (byte)b;
        }
    }

    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        int start = 0;
        foreach (Match special in _specials.Matches(text))
        {
            EncodeOrdinary(text[start..special.Index], ids);
            ids.Add(_bpe.IdOf(special.Value));
            start = special.Index + special.Length;
        }

        EncodeOrdinary(text[start..], ids);
        return ids;
    }

    private void EncodeOrdinary(string text, List<int> ids)
    {
        var charOfByte = _byteOfChar.ToDictionary(kv => kv.Value, kv => kv.Key);
        foreach (Match piece in Split.Matches(text))
        {
            var symbols = Encoding.UTF8.GetBytes(piece.Value).Select(b => charOfByte[b].ToString()).ToList();
            while (true)
            {
                int best = int.MaxValue;
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < best)
                        best = rank;
                if (best == int.MaxValue)
                    break;
                var (left, right) = _bpe.Merges[best];
                var merged = new List<string>();
                for (int i = 0; i < symbols.Count; i++)
                {
                    if (i + 1 < symbols.Count && symbols[i] == left && symbols[i + 1] == right)
                    {
                        merged.Add(left + right);
                        i++;
                    }
                    else
                    {
                        merged.Add(symbols[i]);
                    }
                }

                symbols = merged;
            }

            ids.AddRange(symbols.Select(_bpe.IdOf));
        }
    }

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id >= _bpe.Tokens.Count)
                bytes.AddRange(Encoding.UTF8.GetBytes(_bpe.SpecialTokens[id - _bpe.Tokens.Count]));
            else
                bytes.AddRange(_bpe.Tokens[id].Select(c => _byteOfChar[c]));
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}

/// <summary>
/// BPE training by definition: recount every adjacent pair over the whole corpus at every step, merge the most
/// frequent (ties: smallest pair of ids). Slow; the specification the incremental trainer must reproduce.
/// </summary>
internal static class NaiveBpe
{
    public static List<(string Left, string Right)> Train(IEnumerable<string> texts, int vocabSize)
    {
        var alphabet = BuildAlphabetOrder();
        var tokens = new List<string>(alphabet.Select(c => c.ToString()));
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var words = new List<(List<int> Symbols, long Count)>();
        var split = new Regex(BpeTrainer.SplitPattern);
        var charOfByte = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            charOfByte[b] = printable ? (char)b : (char)(256 + shifted++);
        }

        foreach (var group in texts.SelectMany(t => split.Matches(t).Select(m => m.Value)).GroupBy(w => w))
            words.Add(([.. Encoding.UTF8.GetBytes(group.Key).Select(b => ids[charOfByte[b].ToString()])], group.LongCount()));

        var merges = new List<(string, string)>();
        while (tokens.Count < vocabSize)
        {
            var counts = new Dictionary<(int, int), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    counts[(symbols[i], symbols[i + 1])] = counts.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (counts.Count == 0)
                break;
            var best = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First();
            if (best.Value < 2)
                break;
            var (left, right) = best.Key;
            string merged = tokens[left] + tokens[right];
            if (!ids.TryGetValue(merged, out int id))
            {
                id = tokens.Count;
                tokens.Add(merged);
                ids[merged] = id;
            }

            merges.Add((tokens[left], tokens[right]));
            foreach (var (symbols, _) in words)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = id;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }

        return merges;
    }

    private static List<char> BuildAlphabetOrder()
    {
        var chars = new List<char>();
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars.Add(printable ? (char)b : (char)(256 + shifted++));
        }

        chars.Sort();
        return chars;
    }
}
