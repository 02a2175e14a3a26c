using System.Text;

namespace Sdar.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-unicode alphabet, as used by HuggingFace's ByteLevel pre-tokenizer and decoder:
/// every byte is shown as one printable character (printable Latin-1 bytes as themselves, the others shifted to
/// U+0100.., so a space becomes 'Ġ' and a newline 'Ċ'). Vocabulary strings are spelled in this alphabet.
/// </summary>
internal static class ByteLevel
{
    /// <summary>Byte of each alphabet character, or -1; indexed by the character (all are below U+0144).</summary>
    private static readonly short[] CharToByte = BuildCharToByte();

    private static short[] BuildCharToByte()
    {
        var table = new short[0x144];
        Array.Fill(table, (short)-1);
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int c = printable ? b : 256 + shifted++;
            table[c] = (short)b;
        }
        return table;
    }

    /// <summary>
    /// The bytes a token stands for. Like HuggingFace's ByteLevel decoder: each character maps back to its byte;
    /// a token with any character outside the alphabet (an added token such as "&lt;think&gt;" is inside it, one with
    /// a space or CJK text is not) contributes its own UTF-8 bytes unchanged.
    /// </summary>
    public static byte[] TokenToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            int b = c < CharToByte.Length ? CharToByte[c] : -1;
            if (b < 0)
                return Encoding.UTF8.GetBytes(token);
            bytes[i] = (byte)b;
        }
        return bytes;
    }
}
