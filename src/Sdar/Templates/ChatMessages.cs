using System.Text.Json;

namespace Sdar.Templates;

/// <summary>Builds the message lists that <see cref="ChatTemplate.RenderChat"/> takes.</summary>
public static class ChatMessages
{
    /// <summary>One message: <c>{"role": role, "content": content}</c>.</summary>
    public static IReadOnlyDictionary<string, object?> Message(string role, string content)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(content);
        return new Dictionary<string, object?> { ["role"] = role, ["content"] = content };
    }

    /// <summary>
    /// Parses a JSON array of message objects (OpenAI / transformers style). Each needs a string "role"; "content"
    /// may be a string, null, absent or a list of parts; other fields (tool_calls, reasoning_content, ...) are kept.
    /// Bad input throws an ArgumentException naming the element and field, e.g. "messages[1].role".
    /// </summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, object?>> FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"messages: invalid JSON ({e.Message})", nameof(json), e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new ArgumentException($"messages: expected a JSON array of message objects, got {Kind(doc.RootElement)}", nameof(json));
            var messages = new List<IReadOnlyDictionary<string, object?>>();
            int i = 0;
            foreach (JsonElement element in doc.RootElement.EnumerateArray())
            {
                string path = $"messages[{i++}]";
                if (element.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{path}: expected a message object, got {Kind(element)}", nameof(json));
                var message = (Dictionary<string, object?>)FromJsonElement(element, path)!;
                if (!message.TryGetValue("role", out object? role)) throw new ArgumentException($"{path}.role: missing; every message needs a role", nameof(json));
                if (role is not string) throw new ArgumentException($"{path}.role: expected a string, got {Kind(element.GetProperty("role"))}", nameof(json));
                if (message.TryGetValue("content", out object? content) && content is not (null or string or List<object?>))
                    throw new ArgumentException($"{path}.content: expected a string, null or a list of parts, got {Kind(element.GetProperty("content"))}", nameof(json));
                messages.Add(message);
            }
            return messages;
        }
    }

    /// <summary>JSON to template values: integers become long, other numbers double, objects keep their key order.</summary>
    internal static object? FromJsonElement(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => Text(() => e.GetString()!, path),
        JsonValueKind.Number => IsIntegerLiteral(e.GetRawText()) && e.TryGetInt64(out long l) ? (object)l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select((x, i) => FromJsonElement(x, $"{path}[{i}]")).ToList(),
        JsonValueKind.Object => ObjectFrom(e, path),
        _ => throw new ArgumentException($"{path}: unsupported JSON value {e.ValueKind}"),
    };

    private static Dictionary<string, object?> ObjectFrom(JsonElement e, string path)
    {
        var dict = new Dictionary<string, object?>();
        int k = 0;
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string name = Text(() => p.Name, $"{path} (key #{k++})");
            if (dict.ContainsKey(name)) throw new ArgumentException($"{path}.{name}: duplicate key");
            dict[name] = FromJsonElement(p.Value, $"{path}.{name}");
        }
        return dict;
    }

    /// <summary>A JSON string; an unpaired surrogate escape ("\ud800") is valid JSON but not text, and is refused by path.</summary>
    private static string Text(Func<string> read, string path)
    {
        try { return read(); }
        catch (InvalidOperationException) { throw new ArgumentException($"{path}: holds a lone UTF-16 surrogate escape, which is not text"); }
    }

    private static bool IsIntegerLiteral(string raw) => raw.IndexOfAny(['.', 'e', 'E']) < 0;

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
