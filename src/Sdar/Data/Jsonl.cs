using System.Text.Encodings.Web;
using System.Text.Unicode;
using System.Text.Json;
using Sdar.Checkpoints;

namespace Sdar.Data;

/// <summary>One GSM8K record: <c>{"question": ..., "answer": ...}</c>.</summary>
public sealed record GsmExample(string Question, string Answer);

/// <summary>JSON Lines files: one JSON object per line, UTF-8, no BOM, written atomically.</summary>
public static class Jsonl
{
    /// <summary>Readable JSON: '+', '&lt;', non-ASCII letters stay as they are, as in the GSM8K files.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>Writes one line per record; <paramref name="writeRecord"/> writes a single JSON value.</summary>
    public static void Write<T>(string path, IEnumerable<T> records, Action<Utf8JsonWriter, T> writeRecord) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, WriterOptions);
            foreach (var record in records)
            {
                writeRecord(writer, record);
                writer.Flush();
                writer.Reset(stream);
                stream.WriteByte((byte)'\n');
            }
        });

    public static void WriteGsm8k(string path, IEnumerable<GsmExample> examples) =>
        Write(path, examples, (w, e) =>
        {
            w.WriteStartObject();
            w.WriteString("question", e.Question);
            w.WriteString("answer", e.Answer);
            w.WriteEndObject();
        });

    /// <summary>Reads a GSM8K JSONL file; a line without a string "question" and "answer" is an error naming the line.</summary>
    public static IReadOnlyList<GsmExample> ReadGsm8k(string path) =>
        [.. ReadObjects(path, (root, where) => new GsmExample(RequiredString(root, "question", where), RequiredString(root, "answer", where)))];

    /// <summary>Reads the "text" field of every line (the pretraining corpus layout).</summary>
    public static IEnumerable<string> ReadTexts(string path) =>
        ReadObjects(path, (root, where) => RequiredString(root, "text", where));

    /// <summary>
    /// Longest line read: far above any real record (a GSM8K line is under 2 KB), low enough that a corrupt or hostile
    /// file (no newline in gigabytes) is refused instead of filling memory.
    /// </summary>
    public const int MaxLineBytes = 64 << 20;

    internal static IEnumerable<T> ReadObjects<T>(string path, Func<JsonElement, string, T> read)
    {
        int lineNumber = 0;
        foreach (var line in ReadLineBytes(path))
        {
            lineNumber++;
            string where = $"{path} line {lineNumber}";
            if (!Utf8.IsValid(line.Span))
                throw new InvalidDataException($"{where}: not valid UTF-8 (the file must be UTF-8 text)");
            if (IsBlank(line.Span))
                continue;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{where}: not valid JSON ({e.Message})", e);
            }

            using (document)
            {
                T record;
                try
                {
                    record = read(document.RootElement, where);
                }
                catch (InvalidOperationException e)
                {
                    // JsonElement.GetString refuses a lone UTF-16 surrogate escape such as "\ud800".
                    throw new InvalidDataException($"{where}: a string is not valid Unicode ({e.Message})", e);
                }
                yield return record;
            }
        }
    }

    /// <summary>The file's lines as raw bytes (without the line break), so that bad UTF-8 is named by its line.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> ReadLineBytes(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var line = new MemoryStream();
        var buffer = new byte[1 << 16];
        int lineNumber = 1, read;
        while ((read = stream.Read(buffer)) > 0)
        {
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                yield return TrimCarriageReturn(line);
                line.SetLength(0);
                lineNumber++;
                start = i + 1;
            }
            line.Write(buffer, start, read - start);
            if (line.Length > MaxLineBytes)
                throw new InvalidDataException($"{path} line {lineNumber}: longer than {MaxLineBytes >> 20} MiB; a JSONL record is one line");
        }
        if (line.Length > 0) yield return TrimCarriageReturn(line);
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(MemoryStream line)
    {
        var bytes = line.GetBuffer().AsMemory(0, (int)line.Length);
        return bytes.Span is [.., (byte)'\r'] ? bytes[..^1] : bytes;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;

    private static string RequiredString(JsonElement root, string name, string where) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{where}: expected an object with a string field \"{name}\"");
}
