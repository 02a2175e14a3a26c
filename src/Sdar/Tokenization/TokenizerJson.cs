using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdar.Tokenization;

/// <summary>What tokenizer.json says, checked: a byte-level BPE model and the steps around it.</summary>
internal sealed record TokenizerDefinition(
    List<KeyValuePair<string, int>> Vocab,
    List<string> Merges,
    List<AddedTokenRule> AddedTokens,
    List<NormalizationForm> Normalizations,
    List<SplitStep> Splits,
    bool AddPrefixSpace,
    string? UnknownToken,
    bool FuseUnknownTokens);

/// <summary>
/// Reads HuggingFace's tokenizer.json (the <c>tokenizers</c> library's format) for byte-level BPE models such
/// as GPT-2, Qwen2 and Qwen3. Anything it cannot reproduce exactly is refused with a message naming the field.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>GPT-2's split, what a ByteLevel pre-tokenizer with <c>use_regex</c> applies.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static TokenizerDefinition Read(string path)
    {
        using JsonDocument doc = JsonFields.ParseFile(path, "Tokenizer file");
        var f = new JsonFields(path);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"Tokenizer file '{path}' must hold a JSON object, not {JsonFields.Describe(root)}.");

        JsonElement model = f.Required(root, "model", "model", JsonValueKind.Object);
        string type = f.RequiredString(model, "type", "model.type");
        if (type != "BPE")
            throw f.Error("model.type", "must be \"BPE\" (only byte-level BPE tokenizers are supported)", model.GetProperty("type"));
        if (f.OptionalBool(model, "byte_fallback", "model.byte_fallback", false))
            throw f.Error("model.byte_fallback", "must be false (byte-fallback BPE is not supported)");
        if (f.OptionalBool(model, "ignore_merges", "model.ignore_merges", false))
            throw f.Error("model.ignore_merges", "must be false (not supported)");
        if (JsonFields.Optional(model, "dropout") is { } dropout && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
            throw f.Error("model.dropout", "must be null (BPE dropout is for training only)", dropout);
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (!string.IsNullOrEmpty(f.OptionalString(model, affix, "model." + affix)))
                throw f.Error("model." + affix, "must be empty (not supported with byte-level BPE)", model.GetProperty(affix));

        List<KeyValuePair<string, int>> vocab = ReadVocab(f, model);
        string? unk = f.OptionalString(model, "unk_token", "model.unk_token");
        if (unk is not null && !vocab.Exists(kv => kv.Key == unk))
            throw f.Error("model.unk_token", "must be a token of model.vocab", model.GetProperty("unk_token"));

        var splits = new List<SplitStep>();
        bool byteLevel = false, addPrefixSpace = false;
        if (JsonFields.Optional(root, "pre_tokenizer") is { } pre)
            ReadPreTokenizer(f, pre, "pre_tokenizer", splits, ref byteLevel, ref addPrefixSpace);
        if (!byteLevel)
            throw f.Error("pre_tokenizer", "must contain a ByteLevel step (only byte-level BPE is supported)");

        var normalizations = new List<NormalizationForm>();
        if (JsonFields.Optional(root, "normalizer") is { } normalizer)
            ReadNormalizer(f, normalizer, "normalizer", normalizations);

        ReadDecoder(f, f.Required(root, "decoder", "decoder", JsonValueKind.Object), "decoder");

        List<string> merges = ReadMerges(f, model);
        CheckMergesAreInVocabulary(f, vocab, merges);
        return new TokenizerDefinition(
            vocab, merges, ReadAddedTokens(f, root), normalizations, splits, addPrefixSpace,
            unk, f.OptionalBool(model, "fuse_unk", "model.fuse_unk", false));
    }

    // Loops over ~150k entries run once at load: compile them optimised at once, not as tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<KeyValuePair<string, int>> ReadVocab(JsonFields f, JsonElement model)
    {
        JsonElement vocab = f.Required(model, "vocab", "model.vocab", JsonValueKind.Object);
        var entries = new List<KeyValuePair<string, int>>();
        foreach (JsonProperty p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0 || id > JsonFields.MaxTokenId)
                throw f.Error($"model.vocab[\"{p.Name}\"]", $"must be an integer id from 0 to {JsonFields.MaxTokenId}", p.Value);
            entries.Add(new(p.Name, id));
        }
        if (entries.Count == 0)
            throw f.Error("model.vocab", "must not be empty");
        return entries;
    }

    /// <summary>Merges as "a b" strings, in rank order; both the legacy "a b" and the ["a","b"] forms are read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<string> ReadMerges(JsonFields f, JsonElement model)
    {
        JsonElement merges = f.Required(model, "merges", "model.merges", JsonValueKind.Array);
        var result = new List<string>(merges.GetArrayLength());
        int i = 0;
        foreach (JsonElement m in merges.EnumerateArray())
        {
            string? merge = null;
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && space < s.Length - 1 && s.IndexOf(' ', space + 1) < 0)
                    merge = s;
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                     && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            {
                string a = m[0].GetString()!, b = m[1].GetString()!;
                // ML.Tokenizers takes merges as "a b"; byte-level tokens never hold a real space.
                if (a.Length > 0 && b.Length > 0 && !a.Contains(' ', StringComparison.Ordinal) && !b.Contains(' ', StringComparison.Ordinal))
                    merge = string.Concat(a, " ", b);
            }
            if (merge is null)
                throw f.Error($"model.merges[{i}]", "must be a string \"a b\" or a pair [\"a\", \"b\"] of two space-free tokens", m);
            result.Add(merge);
            i++;
        }
        return KeepLastOfDuplicates(result);
    }

    /// <summary>As HuggingFace's BPE builder: both parts of a merge and the merged token must be in the vocabulary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckMergesAreInVocabulary(JsonFields f, List<KeyValuePair<string, int>> vocab, List<string> merges)
    {
        var tokens = new HashSet<string>(vocab.Count, StringComparer.Ordinal);
        foreach (var (token, _) in vocab) tokens.Add(token);
        for (int i = 0; i < merges.Count; i++)
        {
            string merge = merges[i];
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            string a = merge[..space], b = merge[(space + 1)..];
            string? missing = !tokens.Contains(a) ? a : !tokens.Contains(b) ? b : !tokens.Contains(a + b) ? a + b : null;
            if (missing is not null)
                throw f.Error($"model.merges[{i}]", $"must merge tokens of model.vocab into a token of model.vocab; \"{Truncate(missing)}\" is not in it");
        }
    }

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "..." : s;

    /// <summary>HuggingFace builds its merge table as a map, so a repeated pair keeps the rank of its last entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<string> KeepLastOfDuplicates(List<string> merges)
    {
        var seen = new HashSet<string>(merges.Count, StringComparer.Ordinal);
        var kept = new List<string>(merges.Count);
        for (int i = merges.Count - 1; i >= 0; i--)
            if (seen.Add(merges[i]))
                kept.Add(merges[i]);
        if (kept.Count == merges.Count)
            return merges;
        kept.Reverse();
        return kept;
    }

    private static List<AddedTokenRule> ReadAddedTokens(JsonFields f, JsonElement root)
    {
        var rules = new List<AddedTokenRule>();
        var ids = new Dictionary<int, string>();
        if (JsonFields.Optional(root, "added_tokens") is not { } added)
            return rules;
        if (added.ValueKind != JsonValueKind.Array)
            throw f.Error("added_tokens", "must be an array", added);
        int i = 0;
        foreach (JsonElement t in added.EnumerateArray())
        {
            string at = $"added_tokens[{i++}]";
            if (t.ValueKind != JsonValueKind.Object)
                throw f.Error(at, "must be an object {\"id\", \"content\", \"special\", ...}", t);
            int id = f.RequiredInt(t, "id", at + ".id");
            string content = f.RequiredString(t, "content", at + ".content");
            if (content.Length == 0)
                throw f.Error(at + ".content", "must not be empty");
            if (ids.TryGetValue(id, out string? other) && other != content)
                throw f.Error(at + ".id", $"must differ from the id of the added token \"{Truncate(other)}\" ({id})");
            ids[id] = content;
            bool special = f.OptionalBool(t, "special", at + ".special", false);
            rules.Add(new AddedTokenRule(
                new AddedToken(id, content, special),
                Normalized: f.OptionalBool(t, "normalized", at + ".normalized", !special),
                LStrip: f.OptionalBool(t, "lstrip", at + ".lstrip", false),
                RStrip: f.OptionalBool(t, "rstrip", at + ".rstrip", false),
                SingleWord: f.OptionalBool(t, "single_word", at + ".single_word", false)));
        }
        return rules;
    }

    private static void ReadPreTokenizer(JsonFields f, JsonElement step, string path, List<SplitStep> splits, ref bool byteLevel, ref bool addPrefixSpace)
    {
        if (step.ValueKind != JsonValueKind.Object)
            throw f.Error(path, "must be an object", step);
        string type = f.RequiredString(step, "type", path + ".type");
        if (byteLevel && type != "Sequence")
            throw f.Error(path, "must not follow the ByteLevel step (it would split byte-level text)");
        switch (type)
        {
            case "Sequence":
                int i = 0;
                foreach (JsonElement inner in f.Required(step, "pretokenizers", path + ".pretokenizers", JsonValueKind.Array).EnumerateArray())
                    ReadPreTokenizer(f, inner, $"{path}.pretokenizers[{i++}]", splits, ref byteLevel, ref addPrefixSpace);
                break;
            case "Split":
                JsonElement pattern = f.Required(step, "pattern", path + ".pattern", JsonValueKind.Object);
                string? regex = f.OptionalString(pattern, "Regex", path + ".pattern.Regex");
                string? literal = f.OptionalString(pattern, "String", path + ".pattern.String");
                if (regex is null && literal is null)
                    throw f.Error(path + ".pattern", "must be {\"Regex\": ...} or {\"String\": ...}", pattern);
                string behavior = f.RequiredString(step, "behavior", path + ".behavior");
                if (behavior != "Isolated")
                    throw f.Error(path + ".behavior", "must be \"Isolated\" (the only split behaviour supported)", step.GetProperty("behavior"));
                if (f.OptionalBool(step, "invert", path + ".invert", false))
                    throw f.Error(path + ".invert", "must be false (not supported)");
                splits.Add(Compile(f, regex ?? Regex.Escape(literal!), path + (regex is null ? ".pattern.String" : ".pattern.Regex")));
                break;
            case "ByteLevel":
                // HuggingFace's defaults when a flag is absent: add_prefix_space and use_regex both true.
                if (f.OptionalBool(step, "add_prefix_space", path + ".add_prefix_space", true))
                {
                    if (splits.Count > 0)
                        throw f.Error(path + ".add_prefix_space", "must be false after a Split step (not supported)");
                    addPrefixSpace = true;
                }
                if (f.OptionalBool(step, "use_regex", path + ".use_regex", true))
                    splits.Add(Compile(f, Gpt2Pattern, path + ".use_regex"));
                byteLevel = true;
                break;
            case "Digits":
                bool individual = f.OptionalBool(step, "individual_digits", path + ".individual_digits", false);
                splits.Add(Compile(f, individual ? @"\p{N}" : @"\p{N}+", path));
                break;
            default:
                throw f.Error(path + ".type", "must be Sequence, Split, ByteLevel or Digits (the pre-tokenizers supported)", step.GetProperty("type"));
        }
    }

    /// <summary>
    /// A split pattern can backtrack catastrophically (<c>(a+)+$</c>), so each match gets a time budget far above
    /// what real patterns need (microseconds); running out is a <see cref="TokenizerException"/> naming the field.
    /// The patterns in use (GPT-2's, Qwen's, Llama 3's) need lookahead, which RegexOptions.NonBacktracking lacks,
    /// and switching engines by pattern could change how text splits, so the backtracking engine is kept.
    /// </summary>
    internal static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private static SplitStep Compile(JsonFields f, string pattern, string path)
    {
        try
        {
            var regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, MatchTimeout);
            return new SplitStep(regex, $"Tokenizer file '{f.FilePath}': the pre_tokenizer pattern at '{path}'");
        }
        catch (ArgumentException e)
        {
            throw f.Error(path, $"must be a regular expression .NET can run ({e.Message})");
        }
    }

    private static void ReadNormalizer(JsonFields f, JsonElement step, string path, List<NormalizationForm> forms)
    {
        if (step.ValueKind != JsonValueKind.Object)
            throw f.Error(path, "must be an object or null", step);
        string type = f.RequiredString(step, "type", path + ".type");
        switch (type)
        {
            case "NFC": forms.Add(NormalizationForm.FormC); break;
            case "NFD": forms.Add(NormalizationForm.FormD); break;
            case "Sequence":
                int i = 0;
                foreach (JsonElement inner in f.Required(step, "normalizers", path + ".normalizers", JsonValueKind.Array).EnumerateArray())
                    ReadNormalizer(f, inner, $"{path}.normalizers[{i++}]", forms);
                break;
            default:
                throw f.Error(path + ".type", "must be NFC, NFD or Sequence (the normalizers supported)", step.GetProperty("type"));
        }
    }

    private static void ReadDecoder(JsonFields f, JsonElement step, string path)
    {
        string type = f.RequiredString(step, "type", path + ".type");
        if (type == "Sequence")
        {
            int i = 0;
            foreach (JsonElement inner in f.Required(step, "decoders", path + ".decoders", JsonValueKind.Array).EnumerateArray())
            {
                if (inner.ValueKind != JsonValueKind.Object)
                    throw f.Error($"{path}.decoders[{i}]", "must be an object", inner);
                ReadDecoder(f, inner, $"{path}.decoders[{i++}]");
            }
        }
        else if (type != "ByteLevel")
        {
            throw f.Error(path + ".type", "must be \"ByteLevel\" (only byte-level decoding is supported)", step.GetProperty("type"));
        }
    }
}
