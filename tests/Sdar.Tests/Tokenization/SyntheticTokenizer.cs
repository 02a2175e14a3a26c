using System.Text.Json.Nodes;

namespace Sdar.Tests.Tokenization;

/// <summary>
/// Writes small tokenizer.json files to a temp folder: the 256 byte-level symbols, a few merges, a Qwen-style
/// pre-tokenizer. Tests change one field of <see cref="Json"/> to check one behaviour or one error.
/// </summary>
public sealed class SyntheticTokenizer : IDisposable
{
    public const string QwenPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public SyntheticTokenizer()
    {
        Folder = Path.Combine(Path.GetTempPath(), "sdar-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        var vocab = new JsonObject();
        foreach (string symbol in ByteSymbols())
            vocab[symbol] = vocab.Count;
        foreach (string merged in new[] { "he", "ll", "hell", "hello", "Ġw", "Ġwo" })
            vocab[merged] = vocab.Count;
        Json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = QwenPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(new JsonArray("h", "e"), new JsonArray("l", "l"), new JsonArray("he", "ll"), new JsonArray("hell", "o"), "Ġ w", "Ġw o"),
            },
        };
    }

    public string Folder { get; }

    public JsonObject Json { get; }

    public string TokenizerPath => Path.Combine(Folder, "tokenizer.json");

    public JsonObject Model => Json["model"]!.AsObject();

    public int IdOf(string token) => Model["vocab"]![token]!.GetValue<int>();

    public void AddToken(int id, string content, bool special = false, bool normalized = false, bool lstrip = false, bool rstrip = false, bool singleWord = false) =>
        Json["added_tokens"]!.AsArray().Add(new JsonObject
        {
            ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip,
            ["rstrip"] = rstrip, ["normalized"] = normalized, ["special"] = special,
        });

    public string Write()
    {
        File.WriteAllText(TokenizerPath, Json.ToJsonString());
        return TokenizerPath;
    }

    public void WriteFile(string name, string text) => File.WriteAllText(Path.Combine(Folder, name), text);

    public Sdar.Tokenization.HfTokenizer Load() => Sdar.Tokenization.HfTokenizer.Load(Write());

    /// <summary>GPT-2's byte-to-unicode alphabet, written out independently of the library.</summary>
    public static IEnumerable<string> ByteSymbols()
    {
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            yield return ((char)(printable ? b : 256 + shifted++)).ToString();
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
