using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sdar.Checkpoints;

namespace Sdar.Tokenization;

/// <summary>
/// Trains a byte-level BPE tokenizer the way HuggingFace <c>tokenizers</c> trains GPT-2/Qwen2 ones:
/// <list type="number">
/// <item>special tokens written in the text are cut out (they are never merged into anything);</item>
/// <item>the rest is NFC-normalised and split by the Qwen2 pre-tokenizer regex (digits are single pieces) and every piece is
/// counted once per occurrence ("word frequencies");</item>
/// <item>each word starts as its UTF-8 bytes; the base vocabulary is all 256 bytes in GPT-2's byte-to-unicode
/// alphabet, in the order of that alphabet (as in Qwen's vocabulary: <c>!</c> = 0, ..., <c>Ġ</c> = 220);</item>
/// <item>the most frequent adjacent pair (ties: the smaller pair of ids) is merged into a new token, repeatedly,
/// until the vocabulary reaches its target size or no pair occurs <c>minFrequency</c> times.</item>
/// </list>
/// Pair counts are kept over the distinct words and updated incrementally: a merge only revisits the words that
/// contain its pair, and a max-heap with lazily refreshed counts picks the next pair.
/// </summary>
/// <remarks>
/// The text between special tokens is NFC-normalised and split exactly as <see cref="HfTokenizer"/> does when
/// encoding (<see cref="CanonicalNormalizer"/>, <see cref="SplitPreTokenizer"/>, which treats astral code points
/// as single characters), so the words counted here are the words the tokenizer will see.
/// </remarks>
public static partial class BpeTrainer
{
    /// <summary>The Qwen2/Qwen3 pre-tokenizer split regex, verbatim from their tokenizer.json.</summary>
    public const string SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The SDAR chat special tokens, in the order their ids follow the BPE vocabulary.</summary>
    public static IReadOnlyList<string> DefaultSpecialTokens { get; } =
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|MASK|>"];

    [GeneratedRegex(SplitPattern)]
    private static partial Regex Split();

    /// <summary>
    /// Trains on <paramref name="texts"/>. <paramref name="vocabSize"/> counts everything: the 256 byte tokens,
    /// the merged tokens and the special tokens (whose ids come right after the BPE vocabulary). Training stops
    /// early when no pair occurs <paramref name="minFrequency"/> times.
    /// </summary>
    public static TrainedBpe Train(IEnumerable<string> texts, int vocabSize, IReadOnlyList<string>? specialTokens = null,
        int minFrequency = 2)
    {
        specialTokens ??= DefaultSpecialTokens;
        if (specialTokens.Distinct(StringComparer.Ordinal).Count() != specialTokens.Count || specialTokens.Any(string.IsNullOrEmpty))
            throw new ArgumentException("special tokens must be distinct and non-empty", nameof(specialTokens));
        int bpeSize = vocabSize - specialTokens.Count;
        if (bpeSize < ByteAlphabet.Size)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize,
                $"must be at least {ByteAlphabet.Size} byte tokens + {specialTokens.Count} special tokens");
        ArgumentOutOfRangeException.ThrowIfLessThan(minFrequency, 1);

        var words = CountWords(texts, specialTokens);
        var (tokens, merges) = new MergeLoop(words).Run(bpeSize, minFrequency);
        return new TrainedBpe(tokens, merges, specialTokens);
    }

    /// <summary>Pre-tokenized pieces and how often each occurs, with the special tokens cut out.</summary>
    internal static Dictionary<string, long> CountWords(IEnumerable<string> texts, IReadOnlyList<string> specialTokens)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var specials = SpecialTokenPattern(specialTokens);
        var pieces = new List<(int Offset, int Length)>();
        foreach (string text in texts)
        {
            int start = 0;
            if (specials is not null)
            {
                foreach (var special in specials.EnumerateMatches(text))
                {
                    CountPieces(text.AsSpan(start, special.Index - start), lookup, pieces);
                    start = special.Index + special.Length;
                }
            }

            CountPieces(text.AsSpan(start), lookup, pieces);
        }

        return counts;
    }

    private static void CountPieces(ReadOnlySpan<char> segment, Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> lookup,
        List<(int Offset, int Length)> pieces)
    {
        if (segment.IsEmpty)
            return;
        // NFC can change only text at or above U+0300; skip the copy for the common case.
        string? normalized = segment.ContainsAnyExceptInRange('\0', '\u02FF')
            ? CanonicalNormalizer.Normalize(segment.ToString(), NormalizationForm.FormC)
            : null;
        var text = normalized is null ? segment : normalized.AsSpan();
        pieces.Clear();
        SplitPreTokenizer.SplitIsolated(Split(), text, 0, pieces);
        foreach (var (offset, length) in pieces)
        {
            var piece = text.Slice(offset, length);
            lookup[piece] = lookup.TryGetValue(piece, out long n) ? n + 1 : 1;
        }
    }

    /// <summary>
    /// Matches the special tokens leftmost first and, at one position, longest first (an alternation tries its
    /// branches in order), as HuggingFace's added-token matcher does. Null when there are none.
    /// </summary>
    private static Regex? SpecialTokenPattern(IReadOnlyList<string> specialTokens) =>
        specialTokens.Count == 0
            ? null
            : new Regex(string.Join("|", specialTokens.OrderByDescending(t => t.Length).Select(Regex.Escape)), RegexOptions.CultureInvariant);

    /// <summary>The merge loop over distinct words: symbols per word, pair counts, where each pair occurs.</summary>
    private sealed class MergeLoop
    {
        private readonly int[][] _symbols;
        private readonly int[] _lengths;
        private readonly long[] _frequencies;
        private readonly Dictionary<long, long> _pairCounts = new();
        private readonly Dictionary<long, List<int>> _wordsWithPair = new();

        // Max count first; on equal counts the smaller (left, right) pair, as HuggingFace's trainer does.
        private readonly PriorityQueue<long, (long Count, long Pair)> _heap = new(
            Comparer<(long Count, long Pair)>.Create((x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair)));

        public MergeLoop(Dictionary<string, long> words)
        {
            int n = words.Count;
            _symbols = new int[n][];
            _lengths = new int[n];
            _frequencies = new long[n];
            int w = 0;
            // Ordinal order makes the result independent of the dictionary's enumeration order.
            foreach (var (word, frequency) in words.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                byte[] bytes = Encoding.UTF8.GetBytes(word);
                _symbols[w] = [.. bytes.Select(b => ByteAlphabet.IdOfByte[b])];
                _lengths[w] = bytes.Length;
                _frequencies[w] = frequency;
                for (int i = 0; i + 1 < bytes.Length; i++)
                {
                    long pair = Pair(_symbols[w][i], _symbols[w][i + 1]);
                    _pairCounts[pair] = _pairCounts.GetValueOrDefault(pair) + frequency;
                    WordsWith(pair).Add(w);
                }

                w++;
            }

            foreach (var (pair, count) in _pairCounts)
                _heap.Enqueue(pair, (count, pair));
        }

        private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

        private List<int> WordsWith(long pair)
        {
            if (!_wordsWithPair.TryGetValue(pair, out var list))
                _wordsWithPair[pair] = list = [];
            return list;
        }

        public (List<string> Tokens, List<(int Left, int Right)> Merges) Run(int targetSize, int minFrequency)
        {
            var tokens = new List<string>(ByteAlphabet.Tokens);
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < tokens.Count; i++)
                ids[tokens[i]] = i;
            var merges = new List<(int, int)>();
            var delta = new Dictionary<long, long>();

            while (tokens.Count < targetSize && _heap.TryDequeue(out long pair, out var entry))
            {
                long current = _pairCounts.GetValueOrDefault(pair);
                if (current != entry.Count)
                {
                    // Stale entry: the pair's count fell since it was queued. Queue it again with the true count.
                    if (current > 0)
                        _heap.Enqueue(pair, (current, pair));
                    continue;
                }

                if (current < minFrequency)
                    break;

                int left = (int)(pair >> 32), right = (int)(uint)pair;
                string merged = tokens[left] + tokens[right];
                // Two different pairs can spell the same string ("ab"+"c", "a"+"bc"): the token keeps its first id.
                if (!ids.TryGetValue(merged, out int id))
                {
                    id = tokens.Count;
                    tokens.Add(merged);
                    ids[merged] = id;
                }

                merges.Add((left, right));
                Apply(pair, left, right, id, delta);
            }

            return (tokens, merges);
        }

        /// <summary>Merges every occurrence of (left, right) into <paramref name="id"/> and updates the pair counts.</summary>
        private void Apply(long pair, int left, int right, int id, Dictionary<long, long> delta)
        {
            delta.Clear();
            var words = _wordsWithPair[pair];
            _wordsWithPair.Remove(pair);
            foreach (int w in words)
            {
                int[] s = _symbols[w];
                int length = _lengths[w];
                long frequency = _frequencies[w];
                if (!Contains(s, length, left, right))
                    continue; // listed before an earlier merge took the pair away, or listed twice

                for (int i = 0; i + 1 < length; i++)
                    Add(delta, Pair(s[i], s[i + 1]), -frequency);

                int write = 0;
                for (int read = 0; read < length; read++)
                {
                    if (read + 1 < length && s[read] == left && s[read + 1] == right)
                    {
                        s[write++] = id;
                        read++;
                    }
                    else
                    {
                        s[write++] = s[read];
                    }
                }

                _lengths[w] = length = write;
                for (int i = 0; i + 1 < length; i++)
                {
                    long p = Pair(s[i], s[i + 1]);
                    Add(delta, p, frequency);
                    if (s[i] == id || s[i + 1] == id)
                        WordsWith(p).Add(w); // only pairs with the new token are new to this word
                }
            }

            foreach (var (p, change) in delta)
            {
                if (change == 0)
                    continue;
                long count = _pairCounts.GetValueOrDefault(p) + change;
                if (count == 0)
                    _pairCounts.Remove(p);
                else
                    _pairCounts[p] = count;
                if (change > 0)
                    _heap.Enqueue(p, (count, p)); // decreases are caught lazily when the old entry surfaces
            }
        }

        private static bool Contains(int[] s, int length, int left, int right)
        {
            for (int i = 0; i + 1 < length; i++)
                if (s[i] == left && s[i + 1] == right)
                    return true;
            return false;
        }

        private static void Add(Dictionary<long, long> delta, long pair, long change) =>
            delta[pair] = delta.GetValueOrDefault(pair) + change;
    }
}

/// <summary>
/// GPT-2's byte-to-unicode alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes are shifted
/// to U+0100.. (space = 'Ġ', newline = 'Ċ'). The 256 base tokens are listed in alphabet order, as in Qwen's
/// vocabulary.
/// </summary>
internal static class ByteAlphabet
{
    public const int Size = 256;

    /// <summary>The character that spells each byte.</summary>
    public static readonly char[] CharOfByte = BuildCharOfByte();

    /// <summary>Base token id of each byte: its rank in the alphabet.</summary>
    public static readonly int[] IdOfByte = BuildIdOfByte();

    /// <summary>The 256 base tokens by id.</summary>
    public static readonly IReadOnlyList<string> Tokens =
        [.. Enumerable.Range(0, Size).OrderBy(b => CharOfByte[b]).Select(b => CharOfByte[b].ToString())];

    private static char[] BuildCharOfByte()
    {
        var map = new char[Size];
        int shifted = 0;
        for (int b = 0; b < Size; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + shifted++);
        }

        return map;
    }

    private static int[] BuildIdOfByte()
    {
        var order = Enumerable.Range(0, Size).OrderBy(b => CharOfByte[b]).ToArray();
        var ids = new int[Size];
        for (int id = 0; id < Size; id++)
            ids[order[id]] = id;
        return ids;
    }
}

/// <summary>
/// A trained byte-level BPE: tokens by id (the 256 byte tokens, then merged tokens), merges in rank order, and
/// special tokens whose ids follow the BPE vocabulary. <see cref="Save"/> writes a HuggingFace tokenizer folder
/// laid out like Qwen2/Qwen3's.
/// </summary>
public sealed class TrainedBpe
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";

    private readonly Dictionary<string, int> _ids;

    internal TrainedBpe(IReadOnlyList<string> tokens, IReadOnlyList<(int Left, int Right)> merges, IReadOnlyList<string> specialTokens)
    {
        Tokens = tokens;
        Merges = [.. merges.Select(m => (tokens[m.Left], tokens[m.Right]))];
        SpecialTokens = [.. specialTokens];
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
            _ids[tokens[i]] = i;
        for (int i = 0; i < specialTokens.Count; i++)
            _ids[specialTokens[i]] = tokens.Count + i;
    }

    /// <summary>BPE tokens by id, spelled in the byte-level alphabet.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Merges in rank order, as pairs of token spellings.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>Special tokens; the i-th has id <c>Tokens.Count + i</c>.</summary>
    public IReadOnlyList<string> SpecialTokens { get; }

    /// <summary>The model's vocabulary size: BPE tokens plus special tokens.</summary>
    public int VocabSize => Tokens.Count + SpecialTokens.Count;

    /// <summary>The id of a BPE token spelling or a special token.</summary>
    public int IdOf(string token) =>
        _ids.TryGetValue(token, out int id) ? id : throw new KeyNotFoundException($"'{token}' is not in the vocabulary");

    /// <summary>
    /// Writes <c>tokenizer.json</c>, <c>tokenizer_config.json</c> (with <paramref name="chatTemplate"/>, eos
    /// <c>&lt;|im_end|&gt;</c>, pad <c>&lt;|endoftext|&gt;</c>), and the legacy <c>vocab.json</c> and
    /// <c>merges.txt</c> into <paramref name="directory"/>, each file atomically.
    /// </summary>
    public void Save(string directory, string chatTemplate, int modelMaxLength = 4096)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, TokenizerFile), WriteTokenizerJson);
        AtomicFile.Write(Path.Combine(directory, TokenizerConfigFile), s => WriteTokenizerConfig(s, chatTemplate, modelMaxLength));
        AtomicFile.Write(Path.Combine(directory, VocabFile), s =>
        {
            using var w = new Utf8JsonWriter(s, JsonOptions with { Indented = false });
            WriteVocab(w);
        });
        AtomicFile.WriteText(Path.Combine(directory, MergesFile),
            "#version: 0.2\n" + string.Concat(Merges.Select(m => m.Left + " " + m.Right + "\n")));
    }

    /// <summary>Like serde_json: non-ASCII characters (the byte alphabet) are written as they are.</summary>
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    private void WriteTokenizerJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, JsonOptions);
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", Tokens.Count + i);
            w.WriteString("content", SpecialTokens[i]);
            WriteAddedTokenFlags(w);
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartObject("normalizer");
        w.WriteString("type", "NFC");
        w.WriteEndObject();

        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", BpeTrainer.SplitPattern);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        w.WriteStartObject();
        WriteByteLevel(w);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("post_processor");
        WriteByteLevel(w);
        w.WriteEndObject();
        w.WriteStartObject("decoder");
        WriteByteLevel(w);
        w.WriteEndObject();

        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteString("continuing_subword_prefix", "");
        w.WriteString("end_of_word_suffix", "");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WritePropertyName("vocab");
        WriteVocab(w);
        w.WriteStartArray("merges");
        foreach (var (left, right) in Merges)
            w.WriteStringValue(left + " " + right);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void WriteVocab(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        for (int i = 0; i < Tokens.Count; i++)
            w.WriteNumber(Tokens[i], i);
        w.WriteEndObject();
    }

    private static void WriteByteLevel(Utf8JsonWriter w)
    {
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
    }

    private static void WriteAddedTokenFlags(Utf8JsonWriter w)
    {
        w.WriteBoolean("single_word", false);
        w.WriteBoolean("lstrip", false);
        w.WriteBoolean("rstrip", false);
        w.WriteBoolean("normalized", false);
        w.WriteBoolean("special", true);
    }

    private void WriteTokenizerConfig(Stream stream, string chatTemplate, int modelMaxLength)
    {
        const string eos = "<|im_end|>", pad = "<|endoftext|>", mask = "<|MASK|>";
        using var w = new Utf8JsonWriter(stream, JsonOptions);
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", false);
        w.WriteBoolean("add_prefix_space", false);
        w.WriteStartObject("added_tokens_decoder");
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            w.WriteStartObject((Tokens.Count + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("content", SpecialTokens[i]);
            WriteAddedTokenFlags(w);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteStartArray("additional_special_tokens");
        foreach (string special in SpecialTokens.Where(s => s != pad))
            w.WriteStringValue(special);
        w.WriteEndArray();
        w.WriteNull("bos_token");
        w.WriteString("chat_template", chatTemplate);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        WriteTokenOrNull(w, "eos_token", eos);
        w.WriteString("errors", "replace");
        WriteTokenOrNull(w, "mask_token", mask);
        w.WriteNumber("model_max_length", modelMaxLength);
        WriteTokenOrNull(w, "pad_token", pad);
        w.WriteBoolean("split_special_tokens", false);
        w.WriteString("tokenizer_class", "Qwen2Tokenizer");
        w.WriteNull("unk_token");
        w.WriteEndObject();
    }

    private void WriteTokenOrNull(Utf8JsonWriter w, string name, string token)
    {
        if (SpecialTokens.Contains(token))
            w.WriteString(name, token);
        else
            w.WriteNull(name);
    }
}
