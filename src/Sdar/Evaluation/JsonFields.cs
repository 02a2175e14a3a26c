using System.Text.Json;

namespace Sdar.Evaluation;

/// <summary>Typed reads of a benchmark record's fields, each failing with the file, line and field named.</summary>
internal static class JsonFields
{
    public static JsonElement Object(JsonElement root, string where) =>
        root.ValueKind == JsonValueKind.Object ? root : throw new BenchmarkDataException($"{where}: expected a JSON object, found {Kind(root)}");

    public static string RequiredString(JsonElement root, string name, string where) =>
        OptionalString(root, name, where) ?? throw new BenchmarkDataException($"{where}: missing the string field \"{name}\"");

    public static string? OptionalString(JsonElement root, string name, string where)
    {
        if (!Object(root, where).TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new BenchmarkDataException($"{where}: field \"{name}\" must be a string, found {Kind(value)}");
    }

    public static bool Has(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public static JsonElement Required(JsonElement root, string name, string where) =>
        Object(root, where).TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new BenchmarkDataException($"{where}: missing the field \"{name}\"");

    public static IReadOnlyList<string> StringArray(JsonElement value, string name, string where)
    {
        if (value.ValueKind != JsonValueKind.Array) throw new BenchmarkDataException($"{where}: field \"{name}\" must be an array of strings, found {Kind(value)}");
        var strings = new List<string>();
        foreach (var element in value.EnumerateArray())
            strings.Add(element.ValueKind == JsonValueKind.String
                ? element.GetString()!
                : throw new BenchmarkDataException($"{where}: field \"{name}\" must hold only strings, found {Kind(element)}"));
        return strings;
    }

    /// <summary>A whole number, written as 3 or 3.0 (Python's json writes either), in int range.</summary>
    public static int Integer(JsonElement value, string name, string where)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
            return (int)d;
        throw new BenchmarkDataException($"{where}: field \"{name}\" must be a whole number, found {value.GetRawText()}");
    }

    /// <summary>The value as the official Python would print it in an id: a string as is, a number as written.</summary>
    public static string ScalarText(JsonElement value, string name, string where) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        _ => throw new BenchmarkDataException($"{where}: field \"{name}\" must be a string or a number, found {Kind(value)}"),
    };

    public static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString(),
    };

    /// <summary>Every record of a JSONL file, with its 0-based index and "path line N" for messages.</summary>
    public static IReadOnlyList<T> ReadJsonl<T>(string path, Func<JsonElement, int, string, T> read)
    {
        if (!File.Exists(path)) throw new BenchmarkDataException($"{path}: file not found");
        int index = 0;
        return [.. Sdar.Data.Jsonl.ReadObjects(path, (root, where) => read(root, index++, where))];
    }
}
