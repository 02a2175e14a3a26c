using System.Text;
using System.Text.RegularExpressions;

namespace Sdar;

/// <summary>A checkpoint folder, weight file, config or tokenizer file is unusable; the message names what and where.</summary>
public sealed partial class CheckpointException : SdarException
{
    public CheckpointException(string message) : base(Printable(message)) { }
    public CheckpointException(string message, Exception inner) : base(Printable(message), inner) { }
    public CheckpointException() { }

    /// <summary>
    /// Messages quote untrusted text (tensor names, keys, values from downloaded files); control characters in it
    /// are shown as escapes so the message stays one line and cannot forge terminal output.
    /// </summary>
    private static string Printable(string message) => LongQuote().Replace(OneLine(message),
        m => $"'{m.Groups[1].Value[..80]}...({m.Groups[1].Length} characters)'");

    /// <summary>A quoted name or value of hundreds of characters (a corrupt key) is shortened, keeping its start and length.</summary>
    [GeneratedRegex("'([^']{200,})'")]
    private static partial Regex LongQuote();

    private static string OneLine(string message)
    {
        if (!message.Any(char.IsControl)) return message;
        var builder = new StringBuilder(message.Length + 16);
        foreach (char c in message)
        {
            if (!char.IsControl(c)) builder.Append(c);
            else builder.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
        }
        return builder.ToString();
    }
}
