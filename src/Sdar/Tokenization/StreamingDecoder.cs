using System.Text;

namespace Sdar.Tokenization;

/// <summary>
/// Decodes ids pushed one by one (a generation stream). A character whose UTF-8 bytes are split across tokens,
/// as CJK text and emoji often are, is held back until its last byte arrives, so every returned string is
/// final; the concatenation of all returns (Flush included) equals <see cref="HfTokenizer.Decode"/> of all ids.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();

    internal StreamingDecoder(HfTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the text it completes (often empty in the middle of a character).</summary>
    public string Push(int id) =>
        _tokenizer.TokenBytes(id, _skipSpecialTokens) is { } bytes ? DecodeBytes(bytes, flush: false) : "";

    /// <summary>Ends the stream: bytes of an unfinished character come out as U+FFFD. The decoder can then start anew.</summary>
    public string Flush() => DecodeBytes([], flush: true);

    private string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        // At most one char per byte, plus the (at most 3) bytes held back from before.
        int max = bytes.Length + 4;
        Span<char> chars = max <= 256 ? stackalloc char[max] : new char[max];
        int written = _utf8.GetChars(bytes, chars, flush);
        return written == 0 ? "" : new string(chars[..written]);
    }
}
