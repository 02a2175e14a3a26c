using System.Text.Json;

namespace Sdar.Training.Data;

/// <summary>Reads JSON Lines files: one JSON object per line, blank lines skipped, errors naming file and line.</summary>
public static class JsonlFile
{
    /// <summary>
    /// Calls <paramref name="read"/> with each line's object and its 1-based number and returns the results.
    /// <paramref name="read"/> reports a bad line by throwing <see cref="DataFileException"/> through <see cref="Fail"/>.
    /// </summary>
    public static List<T> Read<T>(string path, Func<JsonElement, int, T> read)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new DataFileException(full, 0, "file not found");
        var results = new List<T>();
        int number = 0;
        foreach (string line in File.ReadLines(full))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new DataFileException(full, number, $"not valid JSON ({e.Message})");
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new DataFileException(full, number, $"expected a JSON object, found {doc.RootElement.ValueKind}");
                results.Add(read(doc.RootElement, number));
            }
        }
        if (results.Count == 0) throw new DataFileException(full, 0, "no records (the file is empty)");
        return results;
    }

    /// <summary>The string field <paramref name="name"/>, or null when absent; a non-string value is an error.</summary>
    public static string? OptionalString(JsonElement obj, string name, string path, int line)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new DataFileException(path, line, $"field \"{name}\" must be a string, found {value.ValueKind}");
        return value.GetString();
    }
}
