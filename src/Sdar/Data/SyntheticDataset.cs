using System.Text.Json;
using Sdar.Checkpoints;
using Sdar.IO;

namespace Sdar.Data;

/// <summary>Sizes and seed of a generated dataset.</summary>
public sealed record DatasetOptions
{
    public int Seed { get; init; } = 1234;
    public int Train { get; init; } = 20_000;
    public int Validation { get; init; } = 500;
    public int Test { get; init; } = 500;

    public void Validate()
    {
        if (Train < 0 || Validation < 0 || Test < 0)
            throw new ArgumentException($"split sizes must not be negative (train {Train}, validation {Validation}, test {Test})");
    }
}

/// <summary>What <see cref="SyntheticDataset.Write"/> produced: items per split and per family.</summary>
public sealed record DatasetSummary(
    string Directory,
    DatasetOptions Options,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> FamiliesBySplit);

/// <summary>
/// Writes the synthetic task suite as a dataset folder:
/// <list type="bullet">
/// <item><c>train.jsonl</c>, <c>validation.jsonl</c>, <c>test.jsonl</c>: GSM8K JSONL, <c>{"question", "answer"}</c>;</item>
/// <item><c>sft.jsonl</c>: the training split as chats, <c>{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}</c>;</item>
/// <item><c>pretrain.jsonl</c>: the training split as plain text, <c>{"text": question + "\n" + answer}</c>, for
/// pretraining and tokenizer training;</item>
/// <item><c>manifest.json</c>: the options and the family counts of each split.</item>
/// </list>
/// No question appears in two splits: the splits are consecutive runs of one stream of distinct questions,
/// test first, so the test split depends only on the seed and its own size.
/// </summary>
public static class SyntheticDataset
{
    public const string TrainFile = "train.jsonl";
    public const string ValidationFile = "validation.jsonl";
    public const string TestFile = "test.jsonl";
    public const string SftFile = "sft.jsonl";
    public const string PretrainFile = "pretrain.jsonl";
    public const string ManifestFile = "manifest.json";

    /// <summary>The three splits: test, then validation, then train, all from one stream of distinct questions.</summary>
    public static (IReadOnlyList<TaskItem> Train, IReadOnlyList<TaskItem> Validation, IReadOnlyList<TaskItem> Test) Split(DatasetOptions options)
    {
        options.Validate();
        using var stream = TaskSuite.Stream(options.Seed).GetEnumerator();
        List<TaskItem> Take(int n)
        {
            var items = new List<TaskItem>(n);
            while (items.Count < n && stream.MoveNext())
                items.Add(stream.Current);
            return items;
        }

        var test = Take(options.Test);
        var validation = Take(options.Validation);
        var train = Take(options.Train);
        return (train, validation, test);
    }

    /// <summary>
    /// Writes the dataset folder. The folder is checked and locked first (<see cref="OutputPaths.ClaimFolder"/>,
    /// errors name <paramref name="flag"/>), so an unusable path fails before any item is generated and two runs
    /// cannot write one folder at once; each file is replaced atomically.
    /// </summary>
    public static DatasetSummary Write(string directory, DatasetOptions options, string flag = "--out")
    {
        options.Validate();
        using var claim = OutputPaths.ClaimFolder(directory, flag);
        var (train, validation, test) = Split(options);
        Directory.CreateDirectory(directory);

        Jsonl.WriteGsm8k(Path.Combine(directory, TrainFile), train.Select(ToGsm));
        Jsonl.WriteGsm8k(Path.Combine(directory, ValidationFile), validation.Select(ToGsm));
        Jsonl.WriteGsm8k(Path.Combine(directory, TestFile), test.Select(ToGsm));
        Jsonl.Write(Path.Combine(directory, SftFile), train, WriteChat);
        Jsonl.Write(Path.Combine(directory, PretrainFile), train, (w, item) =>
        {
            w.WriteStartObject();
            w.WriteString("text", PretrainText(item));
            w.WriteEndObject();
        });

        var families = new Dictionary<string, IReadOnlyDictionary<string, int>>
        {
            ["train"] = CountFamilies(train),
            ["validation"] = CountFamilies(validation),
            ["test"] = CountFamilies(test),
        };
        AtomicFile.Write(Path.Combine(directory, ManifestFile), stream => WriteManifest(stream, options, families));
        return new DatasetSummary(directory, options, families);
    }

    /// <summary>The pretraining text of an item: the question, a newline, the worked answer.</summary>
    public static string PretrainText(TaskItem item) => item.Question + "\n" + item.Answer;

    private static GsmExample ToGsm(TaskItem item) => new(item.Question, item.Answer);

    private static void WriteChat(Utf8JsonWriter w, TaskItem item)
    {
        w.WriteStartObject();
        w.WriteStartArray("messages");
        foreach (var (role, content) in new[] { ("user", item.Question), ("assistant", item.Answer) })
        {
            w.WriteStartObject();
            w.WriteString("role", role);
            w.WriteString("content", content);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static SortedDictionary<string, int> CountFamilies(IEnumerable<TaskItem> items)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
            counts[item.Family] = counts.GetValueOrDefault(item.Family) + 1;
        return counts;
    }

    private static void WriteManifest(Stream stream, DatasetOptions options,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> families)
    {
        using var w = new Utf8JsonWriter(stream, Jsonl.WriterOptions with { Indented = true });
        w.WriteStartObject();
        w.WriteString("generator", "Sdar.Data.TaskSuite");
        w.WriteNumber("seed", options.Seed);
        w.WriteStartObject("sizes");
        w.WriteNumber("train", options.Train);
        w.WriteNumber("validation", options.Validation);
        w.WriteNumber("test", options.Test);
        w.WriteEndObject();
        w.WriteStartObject("families");
        foreach (var (split, counts) in families)
        {
            w.WriteStartObject(split);
            foreach (var (family, count) in counts)
                w.WriteNumber(family, count);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}
