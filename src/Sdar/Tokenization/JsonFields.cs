using System.Text.Json;

namespace Sdar.Tokenization;

/// <summary>
/// Typed access to the fields of one JSON file; every failure is a <see cref="CheckpointException"/> that names
/// the file, the field (as a dotted path such as <c>model.merges[3]</c>) and what was expected.
/// </summary>
internal sealed class JsonFields(string filePath)
{
    /// <summary>Token ids index arrays, so an absurd id in a broken file must not allocate gigabytes.</summary>
    public const int MaxTokenId = (1 << 24) - 1;

    public string FilePath { get; } = filePath;

    /// <summary>Reads the file strictly (UTF-8, valid JSON, no lone surrogates): see <see cref="StrictJson"/>.</summary>
    public static JsonDocument ParseFile(string filePath, string what) => StrictJson.ReadFile(filePath, what);

    public CheckpointException Error(string field, string expected, JsonElement? found = null) =>
        new($"In '{FilePath}', field '{field}' {expected}{(found is { } f ? $"; found {Describe(f)}" : "")}.");

    public static string Describe(JsonElement e) => StrictJson.Describe(e);

    /// <summary>The field, or null when it is absent or JSON null.</summary>
    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null
            ? v : null;

    public JsonElement Required(JsonElement obj, string name, string path, JsonValueKind kind)
    {
        JsonElement? v = Optional(obj, name);
        if (v is null)
            throw Error(path, $"is required and must be {KindName(kind)}");
        if (v.Value.ValueKind != kind)
            throw Error(path, $"must be {KindName(kind)}", v);
        return v.Value;
    }

    public string RequiredString(JsonElement obj, string name, string path) =>
        Required(obj, name, path, JsonValueKind.String).GetString()!;

    public int RequiredInt(JsonElement obj, string name, string path)
    {
        JsonElement v = Required(obj, name, path, JsonValueKind.Number);
        if (!v.TryGetInt32(out int i) || i < 0 || i > MaxTokenId)
            throw Error(path, $"must be an integer id from 0 to {MaxTokenId}", v);
        return i;
    }

    public string? OptionalString(JsonElement obj, string name, string path)
    {
        JsonElement? v = Optional(obj, name);
        if (v is null)
            return null;
        if (v.Value.ValueKind != JsonValueKind.String)
            throw Error(path, "must be a string", v);
        return v.Value.GetString();
    }

    public bool OptionalBool(JsonElement obj, string name, string path, bool defaultValue)
    {
        JsonElement? v = Optional(obj, name);
        if (v is null)
            return defaultValue;
        return v.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(path, "must be true or false", v),
        };
    }

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => kind.ToString(),
    };
}
