using Sdar.Config;
using Sdar.Tokenization;

namespace Sdar.Export;

/// <summary>
/// A byte-level BPE tokenizer as llama.cpp's <c>gpt2</c> tokenizer model stores it (<c>tokenizer.ggml.*</c>), built
/// the way llama.cpp's converter does (convert_hf_to_gguf.py <c>get_vocab_base</c> and gguf-py <c>SpecialVocab</c>):
/// one token and type per id up to the model's vocab_size; ids no token has become unused "[PADn]" placeholders;
/// added tokens marked special, or spelled like a control token (<c>&lt;|...|&gt;</c>), are control tokens, other
/// added tokens user-defined; the merges in rank order; the special ids from tokenizer_config.json's token names,
/// else generation_config.json, else config.json.
/// </summary>
public sealed record GgufVocabulary(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<int> TokenTypes,
    IReadOnlyList<string> Merges,
    int? EosTokenId,
    int? PaddingTokenId,
    int? BosTokenId,
    bool AddBosToken,
    string? ChatTemplate)
{
    /// <summary>Qwen2's split pattern (Qwen2, Qwen2.5, Qwen3, SDAR tokenizers): what llama.cpp's <c>qwen2</c> pre-tokenizer runs.</summary>
    public const string Qwen2SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The name llama.cpp gives that pre-tokenizer (<c>tokenizer.ggml.pre</c>).</summary>
    public const string Qwen2PreTokenizer = "qwen2";

    /// <summary>
    /// Reads <c>tokenizer.json</c> (and <c>tokenizer_config.json</c>) in <paramref name="tokenizerDirectory"/> and lays it
    /// out for a model of <paramref name="vocabSize"/> embedding rows. A tokenizer llama.cpp's <c>qwen2</c>
    /// pre-tokenizer would split differently (another split pattern or normaliser) is refused, naming the field.
    /// </summary>
    public static GgufVocabulary FromTokenizer(string tokenizerDirectory, int vocabSize, ModelConfig config, GenerationConfig generation)
    {
        string path = Path.Combine(Path.GetFullPath(tokenizerDirectory), "tokenizer.json");
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found (the GGUF file embeds the tokenizer)");
        TokenizerDefinition definition = TokenizerJson.Read(path);
        CheckQwen2Style(path, definition);
        HfTokenizer tokenizer = HfTokenizer.Load(path);
        if (tokenizer.VocabSize > vocabSize)
            throw new CheckpointException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but config.json vocab_size is {vocabSize}");

        var added = definition.AddedTokens.ToDictionary(r => r.Token.Id, r => r.Token);
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            if (tokenizer.IdToToken(id) is not { } token)
            {
                tokens[id] = $"[PAD{id}]";
                types[id] = (int)GgufTokenType.Unused;
            }
            else if (added.TryGetValue(id, out var addedToken))
            {
                tokens[id] = addedToken.Content;
                types[id] = (int)(addedToken.Special || LooksLikeControlToken(addedToken.Content) ? GgufTokenType.Control : GgufTokenType.UserDefined);
            }
            else
            {
                tokens[id] = token;
                types[id] = (int)GgufTokenType.Normal;
            }
        }

        int? IdOf(string? name) => name is null ? null : tokenizer.TokenToId(name);
        string configPath = Path.Combine(Path.GetDirectoryName(path)!, "tokenizer_config.json");
        return new GgufVocabulary(tokens, types, definition.Merges,
            EosTokenId: IdOf(tokenizer.EosToken) ?? (generation.EosTokenIds.Count > 0 ? generation.EosTokenIds[0] : config.EosTokenId),
            PaddingTokenId: IdOf(tokenizer.PadToken) ?? generation.PadTokenId ?? config.PadTokenId,
            BosTokenId: IdOf(tokenizer.BosToken) ?? generation.BosTokenId ?? config.BosTokenId,
            AddBosToken: ReadAddBosToken(configPath),
            ChatTemplate: tokenizer.ChatTemplate);
    }

    /// <summary>
    /// convert_hf_to_gguf.py's <c>does_token_look_special</c>: some models leave control tokens unmarked, so the
    /// spelling decides too.
    /// </summary>
    internal static bool LooksLikeControlToken(string text) =>
        text is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]" ||
        (text.StartsWith("<|", StringComparison.Ordinal) && text.EndsWith("|>", StringComparison.Ordinal)) ||
        (text.StartsWith("<｜", StringComparison.Ordinal) && text.EndsWith("｜>", StringComparison.Ordinal)) ||
        (text.StartsWith("<unused", StringComparison.Ordinal) && text.EndsWith('>'));

    private static void CheckQwen2Style(string path, TokenizerDefinition definition)
    {
        string[] patterns = definition.Splits.Select(s => s.Regex.ToString()).ToArray();
        if (patterns is not [Qwen2SplitPattern])
            throw new CheckpointException(
                $"{path}: pre_tokenizer splits with [{string.Join(", ", patterns.Select(p => $"'{p}'"))}]; the GGUF export writes llama.cpp's " +
                $"'{Qwen2PreTokenizer}' pre-tokenizer, which needs Qwen2's single split pattern '{Qwen2SplitPattern}'");
        if (definition.AddPrefixSpace)
            throw new CheckpointException($"{path}: pre_tokenizer ByteLevel.add_prefix_space must be false for llama.cpp's '{Qwen2PreTokenizer}' pre-tokenizer");
        if (definition.Normalizations.Any(n => n != System.Text.NormalizationForm.FormC))
            throw new CheckpointException($"{path}: normalizer must be NFC or none for llama.cpp's '{Qwen2PreTokenizer}' pre-tokenizer");
    }

    /// <summary>tokenizer_config.json's <c>add_bos_token</c> (false when absent: Qwen tokenizers add no BOS).</summary>
    private static bool ReadAddBosToken(string configPath)
    {
        if (!File.Exists(configPath)) return false;
        using var document = Checkpoints.JsonFile.Read(configPath, "tokenizer config");
        return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
               document.RootElement.TryGetProperty("add_bos_token", out var value) &&
               value.ValueKind == System.Text.Json.JsonValueKind.True;
    }
}
