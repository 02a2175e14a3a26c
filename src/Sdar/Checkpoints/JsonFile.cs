using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Sdar.Checkpoints;

/// <summary>
/// Strict reading of the JSON files a checkpoint carries (<c>config.json</c>, <c>generation_config.json</c>, the
/// safetensors header, <c>model.safetensors.index.json</c>). Downloaded files are untrusted input, so before any
/// value is used the whole document is checked: valid UTF-8, no lone surrogate escape (<c>"\ud800"</c>) in any
/// string or key (unknown keys and <c>__metadata__</c> included), no key twice in one object, bounded size and
/// depth. Every defect is a <see cref="CheckpointException"/> naming the file and, where there is one, the field;
/// once a document passed, reading its strings cannot throw.
/// </summary>
public static class JsonFile
{
    /// <summary>Far above any real config or index (a 30B MoE index is about 2 MB); a larger file is not one.</summary>
    public const long MaxFileBytes = 64L << 20;

    private const int MaxDepth = 64;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads and checks the JSON file at <paramref name="path"/> (a link is followed; only regular files).</summary>
    public static JsonDocument Read(string path, string what)
    {
        string target = CheckpointFiles.RequireRegularFile(path, what);
        long length = new FileInfo(target).Length;
        if (length > MaxFileBytes)
            throw new CheckpointException($"{path}: {what} is {length} bytes; a JSON file of a checkpoint is at most {MaxFileBytes}");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read {what}: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Checks JSON text given as a string (tests and callers that hold text); a lone surrogate in it is an error.</summary>
    public static JsonDocument Parse(string json, string origin)
    {
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(json);
        }
        catch (EncoderFallbackException e)
        {
            throw new CheckpointException($"{origin}: the text holds a lone UTF-16 surrogate at character {e.Index}", e);
        }
        return Parse(bytes, origin);
    }

    /// <summary>Parses and checks UTF-8 JSON bytes; <paramref name="origin"/> names them in errors.</summary>
    public static JsonDocument Parse(ReadOnlySpan<byte> utf8, string origin)
    {
        if (utf8.StartsWith(Encoding.UTF8.Preamble)) utf8 = utf8[3..];   // a BOM is legal UTF-8; JSON readers skip it
        int invalidAt = FirstInvalidUtf8(utf8);
        if (invalidAt >= 0)
            throw new CheckpointException($"{origin}: not valid UTF-8 (byte 0x{utf8[invalidAt]:X2} at offset {invalidAt})");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{origin}: not valid JSON ({OneLine(e.Message)})", e);
        }
        try
        {
            CheckStrings(document.RootElement, "", origin);
        }
        catch
        {
            document.Dispose();
            throw;
        }
        return document;
    }

    /// <summary>The JSON path of a member, as error messages show it: "weight_map.model.norm.weight", "eos_token_id[1]".</summary>
    public static string Member(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8)) return -1;
        var chars = ArrayPool<char>.Shared.Rent(Math.Min(utf8.Length, 4096));
        try
        {
            int offset = 0;
            while (offset < utf8.Length)
            {
                var status = Utf8.ToUtf16(utf8[offset..], chars, out int read, out _, replaceInvalidSequences: false);
                offset += read;
                if (status == OperationStatus.InvalidData || status == OperationStatus.NeedMoreData) return offset;
                if (status == OperationStatus.Done) return -1;
            }
            return -1;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>
    /// Walks the document iteratively (the depth is already bounded by the parser): every key and string must
    /// decode (a lone surrogate escape does not), and no object may repeat a key.
    /// </summary>
    private static void CheckStrings(JsonElement root, string rootPath, string origin)
    {
        var pending = new Stack<(JsonElement Element, string Path)>();
        pending.Push((root, rootPath));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            var (element, path) = pending.Pop();
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    keys.Clear();
                    foreach (var property in element.EnumerateObject())
                    {
                        string name = Decode(() => property.Name, path.Length == 0 ? "a key" : $"a key in '{path}'", origin);
                        string member = Member(path, name);
                        if (!keys.Add(name)) throw new CheckpointException($"{origin}: field '{member}' appears twice");
                        pending.Push((property.Value, member));
                    }
                    break;
                case JsonValueKind.Array:
                    int index = 0;
                    foreach (var item in element.EnumerateArray()) pending.Push((item, $"{path}[{index++}]"));
                    break;
                case JsonValueKind.String:
                    Decode(element.GetString, $"field '{path}'", origin);
                    break;
            }
        }
    }

    private static string Decode(Func<string?> read, string where, string origin)
    {
        try
        {
            return read() ?? "";
        }
        catch (InvalidOperationException e)
        {
            throw new CheckpointException($"{origin}: {where} holds an invalid string (a lone surrogate escape such as \\ud800?): {OneLine(e.Message)}", e);
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
