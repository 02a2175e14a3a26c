using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Sdar;

/// <summary>
/// Reads JSON that came from outside (checkpoint configs, tokenizer files, safetensors headers) strictly: the
/// bytes must be UTF-8, the document valid JSON, and no string or property name may hold a lone UTF-16
/// surrogate (an unpaired <c>"\ud800"</c> escape is legal JSON but not text, and System.Text.Json would throw an
/// <see cref="InvalidOperationException"/> only when the string is read). A document returned here can be read
/// with <see cref="JsonElement.GetString"/> anywhere without further checks. Every failure is a
/// <see cref="CheckpointException"/> (or the caller's own <see cref="SdarException"/>) whose one-line message
/// names the file, the field where known, and what was wrong.
/// </summary>
public static class StrictJson
{
    /// <summary>
    /// Far above any real config or tokenizer file (Qwen3's tokenizer.json is 11 MB, the largest in use about
    /// 35 MB), and a bound on what reading a device such as /dev/zero, which never ends, can take.
    /// </summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>Nesting allowed in a document; real files nest a handful of levels.</summary>
    public const int MaxDepth = 256;

    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, MaxDepth = MaxDepth };

    /// <summary>
    /// Reads and checks the JSON file at <paramref name="path"/>. <paramref name="what"/> names it in messages
    /// ("Tokenizer file", "Model config"); <paramref name="error"/> makes the exception (a
    /// <see cref="CheckpointException"/> by default).
    /// </summary>
    public static JsonDocument ReadFile(string path, string what = "JSON file", long maxBytes = DefaultMaxBytes,
        Func<string, SdarException>? error = null)
    {
        error ??= message => new CheckpointException(message);
        if (!File.Exists(path))
            throw error($"{what} not found: '{path}'.");
        byte[] bytes;
        try
        {
            bytes = ReadAtMost(path, maxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"{what} '{path}' could not be read: {e.Message}");
        }
        if (bytes.LongLength > maxBytes)
            throw error($"{what} '{path}' is larger than {maxBytes:N0} bytes, far more than a JSON file of this kind holds.");
        return Parse(bytes, $"{what} '{path}'", error);
    }

    /// <summary>
    /// Parses and checks UTF-8 JSON held in memory; <paramref name="source"/> names it in messages (for example
    /// "Safetensors header of 'model.safetensors'").
    /// </summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string source, Func<string, SdarException>? error = null)
    {
        error ??= message => new CheckpointException(message);
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (utf8.Span.StartsWith(bom))
            utf8 = utf8[3..];
        if (!Utf8.IsValid(utf8.Span))
        {
            (int offset, int line) = FirstInvalidUtf8(utf8.Span);
            throw error($"{source} is not valid UTF-8: byte 0x{utf8.Span[offset]:X2} at offset {offset:N0} (line {line}) does not start a valid character.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException e)
        {
            throw error($"{source} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1} of the line): {Reason(e)}");
        }
        int surrogate = FirstLoneSurrogateEscape(utf8.Span);
        if (surrogate >= 0)
        {
            string field = FieldHoldingLoneSurrogate(document.RootElement, "") ?? "?";
            document.Dispose();
            throw error($"{source}: field '{(field.Length == 0 ? "(root)" : field)}' holds a lone UTF-16 surrogate escape "
                + $"'{Encoding.ASCII.GetString(utf8.Span.Slice(surrogate, 6))}' (line {LineAt(utf8.Span, surrogate)}), which is not text.");
        }
        return document;
    }

    /// <summary>
    /// The reader's reason without its position suffix, on one line: the reason quotes the offending text, which
    /// in a broken file can run over several lines.
    /// </summary>
    private static string Reason(JsonException e)
    {
        string reason = e.Message;
        int suffix = reason.IndexOf(" Path: ", StringComparison.Ordinal);
        if (suffix < 0) suffix = reason.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (suffix >= 0) reason = reason[..suffix];
        var sb = new StringBuilder(reason.Length);
        foreach (char c in reason.Length > 200 ? reason[..200] + "..." : reason)
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        return sb.ToString();
    }

    /// <summary>The string value of <paramref name="element"/>, or an error naming the file and field.</summary>
    public static string GetString(JsonElement element, string file, string field)
    {
        if (element.ValueKind != JsonValueKind.String)
            throw new CheckpointException($"In '{file}', field '{field}' must be a string; found {Describe(element)}.");
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // Only reachable for documents not parsed here.
            throw new CheckpointException($"In '{file}', field '{field}' holds a lone UTF-16 surrogate, which is not text.");
        }
    }

    /// <summary>A short description of a value for messages: a quoted (truncated) string, a kind, or the number.</summary>
    public static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => Quote(e.GetString()!),
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => $"an array of {e.GetArrayLength()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Undefined => "nothing",
        JsonValueKind.Number => Truncate(e.GetRawText()),
        _ => e.GetRawText(),
    };

    private static string Quote(string s) => $"\"{Truncate(s)}\"";

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "..." : s;

    /// <summary>Reads the whole file but never more than one byte past the cap (a device such as /dev/zero never ends).</summary>
    private static byte[] ReadAtMost(string path, long maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (stream.CanSeek && stream.Length > maxBytes)
            return new byte[maxBytes + 1];
        using var buffer = new MemoryStream(stream.CanSeek ? (int)Math.Min(stream.Length, maxBytes) : 0);
        byte[] chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
                break;
        }
        return buffer.ToArray();
    }

    private static (int Offset, int Line) FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        int offset = 0;
        while (offset < utf8.Length)
        {
            if (System.Buffers.OperationStatus.Done != System.Text.Rune.DecodeFromUtf8(utf8[offset..], out _, out int consumed))
                break;
            offset += consumed;
        }
        return (offset, LineAt(utf8, offset));
    }

    private static int LineAt(ReadOnlySpan<byte> utf8, int offset) => utf8[..offset].Count((byte)'\n') + 1;

    /// <summary>
    /// The offset of the first <c>\uXXXX</c> escape that is a surrogate without its partner, or -1. Runs on a
    /// document already known to be valid JSON, where a backslash only occurs inside strings and starts an escape.
    /// </summary>
    private static int FirstLoneSurrogateEscape(ReadOnlySpan<byte> utf8)
    {
        int i = utf8.IndexOf((byte)'\\');
        while (i >= 0 && i + 1 < utf8.Length)
        {
            int step = 2;
            if (utf8[i + 1] == 'u')
            {
                int unit = Hex4(utf8.Slice(i + 2, 4));
                if (unit is >= 0xDC00 and <= 0xDFFF)
                    return i;
                if (unit is >= 0xD800 and <= 0xDBFF)
                {
                    bool paired = i + 12 <= utf8.Length && utf8[i + 6] == '\\' && utf8[i + 7] == 'u'
                        && Hex4(utf8.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF;
                    if (!paired)
                        return i;
                    step = 12;
                }
                else
                {
                    step = 6;
                }
            }
            int next = utf8[(i + step)..].IndexOf((byte)'\\');
            i = next < 0 ? -1 : i + step + next;
        }
        return -1;
    }

    private static int Hex4(ReadOnlySpan<byte> digits)
    {
        int value = 0;
        foreach (byte b in digits)
            value = value * 16 + (b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10);
        return value;
    }

    /// <summary>The dotted path of the first string or property name that does not decode; slow, for messages only.</summary>
    private static string? FieldHoldingLoneSurrogate(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Decodes(element) ? null : path;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    if (FieldHoldingLoneSurrogate(item, $"{path}[{i}]") is { } found)
                        return found;
                    i++;
                }
                return null;
            case JsonValueKind.Object:
                int k = 0;
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    string? name = NameOrNull(property);
                    if (name is null)
                        return $"{path}{(path.Length == 0 ? "" : ".")}(key #{k})";
                    string child = path.Length == 0 ? name : $"{path}.{name}";
                    if (FieldHoldingLoneSurrogate(property.Value, child) is { } found)
                        return found;
                    k++;
                }
                return null;
            default:
                return null;
        }
    }

    private static bool Decodes(JsonElement s)
    {
        try { s.GetString(); return true; }
        catch (InvalidOperationException) { return false; }
    }

    private static string? NameOrNull(JsonProperty p)
    {
        try { return p.Name; }
        catch (InvalidOperationException) { return null; }
    }
}
