using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Sdar.Tokenization;

/// <summary>
/// A HuggingFace byte-level BPE tokenizer (GPT-2, Qwen2, Qwen3 and SDAR checkpoints) read from tokenizer.json,
/// with ML.Tokenizers' BPE as the engine. Encoding and decoding reproduce the <c>tokenizers</c> library:
/// <list type="number">
/// <item>every added token written in the text (special or not, e.g. <c>&lt;think&gt;</c>) becomes its one id,
/// matched exactly, case-sensitively, leftmost and longest first, before normalisation;</item>
/// <item>the rest is normalised (NFC for Qwen), split by the pre-tokenizer regex, mapped to GPT-2's byte
/// alphabet and merged by BPE in merge-rank order;</item>
/// <item>decoding maps tokens back to bytes and reads them as UTF-8 (invalid bytes become U+FFFD), with no
/// space clean-up.</item>
/// </list>
/// Encode adds no BOS/EOS (transformers' <c>add_special_tokens=False</c>). Thread-safe.
/// </summary>
public sealed class HfTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly string?[] _idToToken;
    private readonly bool[] _isSpecial;
    private readonly byte[]?[] _tokenBytes; // filled on first use
    private readonly AddedTokenMatcher _rawAddedTokens;
    private readonly AddedTokenMatcher _normalizedAddedTokens;
    private readonly NormalizationForm[] _normalizations;
    private readonly bool _addPrefixSpace;

    private HfTokenizer(string path, TokenizerDefinition def, TokenizerConfig config)
    {
        _normalizations = [.. def.Normalizations];
        _addPrefixSpace = def.AddPrefixSpace;
        AddedTokens = def.AddedTokens.Select(r => r.Token).ToArray();
        _rawAddedTokens = new AddedTokenMatcher(def.AddedTokens.Where(r => !r.Normalized));
        _normalizedAddedTokens = new AddedTokenMatcher(def.AddedTokens.Where(r => r.Normalized)
            .Select(r => r with { Token = r.Token with { Content = Normalize(r.Token.Content) } }));

        VocabSize = Math.Max(def.Vocab.Max(kv => kv.Value), def.AddedTokens.Count == 0 ? 0 : def.AddedTokens.Max(r => r.Token.Id)) + 1;
        _idToToken = new string?[VocabSize];
        _isSpecial = new bool[VocabSize];
        _tokenBytes = new byte[VocabSize][];
        _vocab = IndexVocabulary(path, def.Vocab, _idToToken);
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken t in AddedTokens)
        {
            _idToToken[t.Id] = t.Content; // an added token takes precedence, as in HuggingFace
            _isSpecial[t.Id] = t.Special;
            _addedByContent[t.Content] = t.Id;
        }

        var options = new BpeOptions(def.Vocab)
        {
            Merges = def.Merges,
            PreTokenizer = new SplitPreTokenizer(def.Splits),
            ByteLevel = true,
            UnknownToken = def.UnknownToken,
            FuseUnknownTokens = def.FuseUnknownTokens,
        };
        try
        {
            _bpe = BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new CheckpointException($"In '{path}', fields 'model.vocab' and 'model.merges' do not form a BPE model: {e.Message}", e);
        }

        ChatTemplate = config.ChatTemplate;
        ChatTemplateOrigin = config.ChatTemplateOrigin;
        EosToken = config.EosToken;
        PadToken = config.PadToken;
        BosToken = config.BosToken;
    }

    // One pass over ~150k tokens at load: compiled optimised at once, not as tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Dictionary<string, int> IndexVocabulary(string path, List<KeyValuePair<string, int>> vocab, string?[] idToToken)
    {
        var byToken = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        foreach ((string token, int id) in vocab)
        {
            if (idToToken[id] is { } other)
                throw new CheckpointException($"In '{path}', field 'model.vocab' gives id {id} to both \"{other}\" and \"{token}\".");
            if (!byToken.TryAdd(token, id))
                throw new CheckpointException($"In '{path}', field 'model.vocab' lists the token \"{token}\" twice (ids {byToken[token]} and {id}).");
            idToToken[id] = token;
        }
        return byToken;
    }

    /// <summary>
    /// Reads a tokenizer.json, and the tokenizer_config.json and chat_template.jinja beside it when present.
    /// </summary>
    /// <exception cref="CheckpointException">A file is missing or malformed; the message names the file and field.</exception>
    public static HfTokenizer Load(string tokenizerJsonPath)
    {
        string path = Path.GetFullPath(tokenizerJsonPath);
        TokenizerDefinition def = TokenizerJson.Read(path);
        TokenizerConfig config = TokenizerConfig.ReadFolder(Path.GetDirectoryName(path)!);
        return new HfTokenizer(path, def, config);
    }

    /// <summary>Reads the tokenizer of a HuggingFace model folder (its tokenizer.json and tokenizer_config.json).</summary>
    public static HfTokenizer FromDirectory(string modelDir)
    {
        if (!Directory.Exists(modelDir))
            throw new CheckpointException($"Model folder not found: '{modelDir}'.");
        return Load(Path.Combine(modelDir, "tokenizer.json"));
    }

    /// <summary>Highest id + 1 over the vocabulary and the added tokens.</summary>
    public int VocabSize { get; }

    /// <summary>The tokens of tokenizer.json's <c>added_tokens</c>, in file order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>The raw Jinja chat template (chat_template.jinja, else tokenizer_config.json), or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>Where <see cref="ChatTemplate"/> was read, for messages: "…/tokenizer_config.json chat_template" or "…/chat_template.jinja".</summary>
    public string? ChatTemplateOrigin { get; }

    public string? EosToken { get; }
    public string? PadToken { get; }
    public string? BosToken { get; }

    /// <summary>Whether <paramref name="id"/> is an added token marked <c>special</c>.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    /// <summary>The id of a token as spelled in the vocabulary ("Ġthe") or an added token ("&lt;|im_end|&gt;").</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int id) || _vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>The token string of an id (vocabulary spelling, e.g. "Ġthe"), or null for an unused id.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Token ids of <paramref name="text"/>; no BOS/EOS is added.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var pieces = new List<TextPiece>();
        var inner = new List<TextPiece>();
        _rawAddedTokens.Split(text, pieces);
        foreach (TextPiece piece in pieces)
        {
            if (piece.IsAddedToken)
            {
                ids.Add(piece.TokenId);
                continue;
            }
            string normalized = Normalize(text.Substring(piece.Start, piece.Length));
            inner.Clear();
            _normalizedAddedTokens.Split(normalized, inner);
            foreach (TextPiece p in inner)
            {
                if (p.IsAddedToken)
                    ids.Add(p.TokenId);
                else
                    EncodeOrdinaryText(normalized.Substring(p.Start, p.Length), ids);
            }
        }
        return ids;
    }

    private void EncodeOrdinaryText(string text, List<int> ids)
    {
        if (_addPrefixSpace && !text.StartsWith(' '))
            text = " " + text;
        ids.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));
    }

    private string Normalize(string text)
    {
        foreach (NormalizationForm form in _normalizations)
            text = CanonicalNormalizer.Normalize(text, form);
        return text;
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. Ids that are no token (e.g. the padding rows of a model's larger
    /// embedding) are skipped, as HuggingFace does; with <paramref name="skipSpecialTokens"/> so are tokens
    /// marked special (non-special added tokens such as &lt;think&gt; stay).
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new ArrayBufferWriter<byte>();
        foreach (int id in ids)
            if (TokenBytes(id, skipSpecialTokens) is { } b)
                bytes.Write(b);
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>A decoder for ids that arrive one at a time, which never emits half a UTF-8 character.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    /// <summary>The bytes a token stands for (a byte-level token may be part of a UTF-8 character); empty for an id that is no token.</summary>
    public byte[] BytesOf(int id) => TokenBytes(id, skipSpecialTokens: false) is { } bytes ? [.. bytes] : [];

    /// <summary>The bytes of one token, or null when it is dropped from decoding.</summary>
    internal byte[]? TokenBytes(int id, bool skipSpecialTokens)
    {
        if ((uint)id >= (uint)_idToToken.Length || _idToToken[id] is not { } token)
            return null;
        if (skipSpecialTokens && _isSpecial[id])
            return null;
        return _tokenBytes[id] ??= ByteLevel.TokenToBytes(token);
    }
}
