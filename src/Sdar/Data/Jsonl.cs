using System.Text.Encodings.Web;
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

    private static IEnumerable<T> ReadObjects<T>(string path, Func<JsonElement, string, T> read)
    {
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string where = $"{path} line {lineNumber}";
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
                yield return read(document.RootElement, where);
        }
    }

    private static string RequiredString(JsonElement root, string name, string where) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{where}: expected an object with a string field \"{name}\"");
}
