using System.Text.Json.Nodes;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of a JSON document: one value somewhere in the tree is replaced by a value of
/// another type, an out-of-range number, a hostile string or deep nesting, or removed or duplicated, so the
/// mutants stay valid JSON and reach the field checks that byte flips mostly cannot.
/// </summary>
internal static class JsonMutations
{
    private static readonly Func<JsonNode?>[] Replacements =
    [
        () => null, () => true, () => false, () => -1, () => 0, () => 1e300, () => 2147483648L, () => 16777216,
        () => long.MaxValue, () => 0.5, () => "", () => "x", () => " ", () => "a b c", () => "(a+)+(?=c)", () => "[",
        () => "{{ range(10**10)|list }}", () => "{% for i in range(10**10) %}x{% endfor %}", () => new string('x', 100_000),
        () => new JsonArray(), () => new JsonObject(), () => new JsonArray(1, 2), () => new JsonArray("a", "b"),
        () => new JsonObject { ["type"] = "Sequence" }, () => new JsonObject { ["content"] = 5 }, () => Deep(200),
    ];

    /// <summary>Keys a property is renamed to: empty, spaces, control and non-byte-level characters, real field names.</summary>
    private static readonly string[] Keys =
        ["", " ", "\u0000", "\n", "€", "🍕", "Ġ", "a b", "<|im_end|>", "type", "vocab", "merges", "content", "id", "Regex", "chat_template"];

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonArray();
        for (int i = 0; i < depth; i++) node = new JsonArray(node);
        return node;
    }

    /// <summary>Mutates a fresh copy of <paramref name="json"/> and returns its text.</summary>
    public static string Mutate(string json, Mutator random, out string description)
    {
        JsonNode root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, string? Name, int Index, string Path)>();
        Collect(root, "", slots, random);
        var (parent, name, index, path) = random.Pick(slots);
        int action = random.Next(10);
        if (action == 0)
        {
            if (parent is JsonObject o) o.Remove(name!);
            else parent.AsArray().RemoveAt(index);
            description = $"remove {path}";
        }
        else if (action == 2 && parent is JsonObject renamed)
        {
            string newName = random.Pick(Keys);
            JsonNode? value = renamed[name!];
            renamed.Remove(name!);
            renamed[newName] = value;
            description = $"rename {path} to '{newName}'";
        }
        else if (action == 1 && parent is JsonArray array)
        {
            array.Insert(index, array[index]?.DeepClone());
            description = $"duplicate {path}";
        }
        else
        {
            JsonNode? value = random.Pick(Replacements)();
            if (parent is JsonObject o) o[name!] = value;
            else parent.AsArray()[index] = value;
            description = $"set {path} to {Show(value)}";
        }
        return root.ToJsonString();
    }

    /// <summary>Every value slot, but at most a few hundred per array, so huge vocabularies do not dominate.</summary>
    private static void Collect(JsonNode node, string path, List<(JsonNode, string?, int, string)> slots, Mutator random)
    {
        switch (node)
        {
            case JsonObject o:
                int seen = 0;
                foreach (var (key, child) in o.ToList())
                {
                    if (o.Count > 300 && random.Next(o.Count) > 300 && seen++ > 0) continue;
                    string at = path.Length == 0 ? key : $"{path}.{key}";
                    slots.Add((o, key, -1, at));
                    if (child is not null) Collect(child, at, slots, random);
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    if (a.Count > 300 && random.Next(a.Count) > 300) continue;
                    string at = $"{path}[{i}]";
                    slots.Add((a, null, i, at));
                    if (a[i] is { } child) Collect(child, at, slots, random);
                }
                break;
        }
    }

    private static string Show(JsonNode? value)
    {
        string text = value?.ToJsonString() ?? "null";
        return text.Length > 40 ? text[..40] + "..." : text;
    }
}
