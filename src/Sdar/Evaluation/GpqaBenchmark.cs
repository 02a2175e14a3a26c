using System.Text;

namespace Sdar.Evaluation;

/// <summary>
/// GPQA (idavidrein/gpqa): the official CSV (a header row; "Question", "Correct Answer", "Incorrect Answer 1".."3"
/// among many other columns) or JSONL with those keys. The four answers are shown in an order shuffled by
/// <see cref="Seed"/> and the item's position, the same on every run and machine, so the right one is not always (A).
/// The prompt is the baselines' zero-shot one ("What is the correct answer to this question: ...").
/// </summary>
public sealed class GpqaBenchmark(ulong seed = 0) : IBenchmark
{
    private static readonly string[] Columns = ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"];

    public ulong Seed { get; } = seed;

    public string Name => "gpqa";

    public IReadOnlyList<BenchmarkItem> Read(string path)
    {
        if (!path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            return JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
                Item(index, Columns.Select(c => JsonFields.RequiredString(root, c, where).Trim()).ToArray(), JsonFields.OptionalString(root, "Record ID", where)));
        var items = new List<BenchmarkItem>();
        int[]? columnOf = null;
        int idColumn = -1;
        foreach (var (line, fields) in Csv.Read(path))
        {
            if (columnOf is null)
            {
                columnOf = Columns.Select(c => fields.ToList().IndexOf(c)).ToArray();
                if (Array.IndexOf(columnOf, -1) is int missing and >= 0)
                    throw new BenchmarkDataException($"{path} line {line}: the header has no column \"{Columns[missing]}\" (expected the official GPQA columns)");
                idColumn = fields.ToList().IndexOf("Record ID");
                continue;
            }
            if (fields.Count <= columnOf.Max())
                throw new BenchmarkDataException($"{path} line {line}: expected at least {columnOf.Max() + 1} columns as the header says, found {fields.Count}");
            items.Add(Item(items.Count, columnOf.Select(c => fields[c].Trim()).ToArray(), idColumn >= 0 && idColumn < fields.Count ? fields[idColumn] : null));
        }
        return items;
    }

    private ChoiceItem Item(int index, string[] values, string? id)
    {
        // values: question, correct, incorrect 1..3; position p of the shown list holds answer order[p].
        int[] order = ShuffledOrder(Seed, index);
        string[] choices = order.Select(o => values[1 + o]).ToArray();
        return new ChoiceItem(index, values[0], choices, Array.IndexOf(order, 0), Id: id);
    }

    /// <summary>A Fisher-Yates shuffle of 0..3 driven by SplitMix64 of (seed, index): stable across runtimes.</summary>
    public static int[] ShuffledOrder(ulong seed, int index)
    {
        ulong state = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1));
        int[] order = [0, 1, 2, 3];
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots)
    {
        var question = (ChoiceItem)item;
        var prompt = new StringBuilder();
        foreach (ChoiceItem shot in shots)
            Choices(prompt.Append("Question: ").Append(shot.Question).Append('\n'), shot).Append("The correct answer is (").Append(shot.AnswerLetter).Append(")\n\n");
        prompt.Append("What is the correct answer to this question: ").Append(question.Question).Append("\n\n");
        return Choices(prompt, question).Append("\nFormat your response as follows: \"The correct answer is (insert answer here)\"").ToString();
    }

    private static StringBuilder Choices(StringBuilder prompt, ChoiceItem item)
    {
        prompt.Append("Choices:\n");
        for (int j = 0; j < item.Choices.Count; j++) prompt.Append('(').Append(ChoiceAnswer.Letter(j)).Append(") ").Append(item.Choices[j]).Append('\n');
        return prompt;
    }

    public BenchmarkVerdict Score(BenchmarkItem item, string completion) => ((ChoiceItem)item).Score(completion);
}
