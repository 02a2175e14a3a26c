using System.Text.Json;

namespace Sdar.Evaluation;

/// <summary>
/// Completions produced elsewhere, one JSON object a line: the text in "completion" (or "response"), the item named
/// by "index" (its 0-based position in the data file), else by "task_id" (HumanEval / MBPP samples), else by
/// "prompt" (IFEval's response files). Every item must have a completion; with <c>severalPerItem</c> an item may
/// have more (samples for pass@k and majority voting), in the order of the file.
/// </summary>
public static class CompletionsFile
{
    public static IReadOnlyList<IReadOnlyList<string>> Read(string path, IReadOnlyList<BenchmarkItem> items, bool severalPerItem = false)
    {
        var byTaskId = new Dictionary<string, BenchmarkItem>(StringComparer.Ordinal);
        foreach (var item in items)
            if (item.TaskId is { } id && !byTaskId.TryAdd(id, item))
                throw new BenchmarkDataException($"the data file has two items with the id \"{Short(id)}\" (items {byTaskId[id].Index} and {item.Index}); completions could not be matched to them");
        var completions = items.Select(_ => new List<string>()).ToArray();
        var firstLine = new int[items.Count];
        int line = 0;
        JsonFields.ReadJsonl(path, (root, _, where) =>
        {
            line = int.Parse(where[(where.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            string text = JsonFields.OptionalString(root, "completion", where) ?? JsonFields.OptionalString(root, "response", where)
                ?? throw new BenchmarkDataException($"{where}: expected a string field \"completion\" (or \"response\")");
            int index = ItemOf(root, items, byTaskId, where);
            if (completions[index].Count > 0 && !severalPerItem)
                throw new BenchmarkDataException($"{where}: a second completion for item {index} (the first is on line {firstLine[index]}); several samples per item must be asked for");
            if (completions[index].Count == 0) firstLine[index] = line;
            completions[index].Add(text);
            return 0;
        });
        int missing = Array.FindIndex(completions, c => c.Count == 0);
        if (missing >= 0)
        {
            int count = completions.Count(c => c.Count == 0);
            string name = items[missing].TaskId is { } id ? $"item {missing} (\"{Short(id)}\")" : $"item {missing}";
            throw new BenchmarkDataException($"{path}: no completion for {count} of the {items.Count} data items, the first {name}");
        }
        return completions;
    }

    private static int ItemOf(JsonElement root, IReadOnlyList<BenchmarkItem> items, Dictionary<string, BenchmarkItem> byTaskId, string where)
    {
        if (JsonFields.Has(root, "index"))
        {
            int index = JsonFields.Integer(root.GetProperty("index"), "index", where);
            return index >= 0 && index < items.Count
                ? index
                : throw new BenchmarkDataException($"{where}: \"index\" {index} is outside the data file's {items.Count} items (0 to {items.Count - 1})");
        }
        foreach (string field in (string[])["task_id", "prompt"])
        {
            if (!JsonFields.Has(root, field)) continue;
            string id = JsonFields.ScalarText(root.GetProperty(field), field, where);
            return byTaskId.TryGetValue(id, out var item)
                ? item.Index
                : throw new BenchmarkDataException($"{where}: {field} \"{Short(id)}\" is not in the data file");
        }
        throw new BenchmarkDataException($"{where}: expected \"index\" (the item's 0-based line in the data file), \"task_id\" or \"prompt\" to say which item it answers");
    }

    private static string Short(string id) => id.Length <= 60 ? id : id[..57] + "...";
}
