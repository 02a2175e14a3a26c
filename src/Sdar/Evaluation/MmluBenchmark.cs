using System.Text;
using System.Text.Json;

namespace Sdar.Evaluation;

/// <summary>
/// MMLU (hendrycks/test): the official per-subject CSV files (no header; question, A, B, C, D, answer letter; the
/// subject from the file name, "abstract_algebra_test.csv") or JSONL with "question", "choices" (a list) or "A".."D",
/// "answer" (a letter or a 0-based number) and an optional "subject". The prompt is the official one of
/// evaluate.py (<c>gen_prompt</c> + <c>format_example</c>), its worked examples the first N items of a dev file.
/// </summary>
public sealed class MmluBenchmark : IBenchmark
{
    private static readonly string[] FourLetters = ["A", "B", "C", "D"];

    public string Name => "mmlu";

    public IReadOnlyList<BenchmarkItem> Read(string path) =>
        path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(path) : ReadJsonl(path);

    private static List<BenchmarkItem> ReadCsv(string path)
    {
        string subject = SubjectOfFile(path);
        var items = new List<BenchmarkItem>();
        foreach (var (line, fields) in Csv.Read(path))
        {
            string where = $"{path} line {line}";
            if (fields.Count != 6) throw new BenchmarkDataException($"{where}: expected 6 columns (question, A, B, C, D, answer), found {fields.Count}");
            items.Add(new ChoiceItem(items.Count, fields[0], [fields[1], fields[2], fields[3], fields[4]], AnswerOfLetter(fields[5], 4, where), subject));
        }
        return items;
    }

    private static IReadOnlyList<BenchmarkItem> ReadJsonl(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
    {
        string question = JsonFields.RequiredString(root, "question", where);
        IReadOnlyList<string> choices = JsonFields.Has(root, "choices")
            ? JsonFields.StringArray(JsonFields.Required(root, "choices", where), "choices", where)
            : FourLetters.Select(letter => JsonFields.RequiredString(root, letter, where)).ToArray();
        if (choices.Count is < 2 or > 26) throw new BenchmarkDataException($"{where}: expected 2 to 26 choices, found {choices.Count}");
        var answer = JsonFields.Required(root, "answer", where);
        int answerIndex = answer.ValueKind == JsonValueKind.String
            ? AnswerOfLetter(answer.GetString()!, choices.Count, where)
            : JsonFields.Integer(answer, "answer", where);
        if (answerIndex < 0 || answerIndex >= choices.Count)
            throw new BenchmarkDataException($"{where}: field \"answer\" must name one of the {choices.Count} choices, found {answer.GetRawText()}");
        return new ChoiceItem(index, question, choices, answerIndex, JsonFields.OptionalString(root, "subject", where));
    });

    private static int AnswerOfLetter(string letter, int choiceCount, string where)
    {
        string trimmed = letter.Trim();
        return trimmed.Length == 1 && trimmed[0] - 'A' is var i && i >= 0 && i < choiceCount
            ? i
            : throw new BenchmarkDataException($"{where}: the answer must be a letter A-{ChoiceAnswer.Letter(choiceCount - 1)}, found \"{letter}\"");
    }

    /// <summary>"…/high_school_physics_test.csv" -> "high_school_physics" (the official file naming).</summary>
    public static string SubjectOfFile(string path)
    {
        string name = Path.GetFileNameWithoutExtension(path);
        foreach (string split in (string[])["_test", "_dev", "_val"])
            if (name.EndsWith(split, StringComparison.Ordinal)) return name[..^split.Length];
        return name;
    }

    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots)
    {
        var question = (ChoiceItem)item;
        var prompt = new StringBuilder();
        if (question.Subject is { Length: > 0 } subject)
            // format_subject prefixes every word with a space, so the official header has two spaces after "about".
            prompt.Append("The following are multiple choice questions (with answers) about ").Append(string.Concat(subject.Split('_').Select(w => " " + w))).Append(".\n\n");
        else
            prompt.Append("The following are multiple choice questions (with answers).\n\n");
        foreach (ChoiceItem shot in shots) Example(prompt, shot).Append(' ').Append(shot.AnswerLetter).Append("\n\n");
        return Example(prompt, question).ToString();
    }

    private static StringBuilder Example(StringBuilder prompt, ChoiceItem item)
    {
        prompt.Append(item.Question);
        for (int j = 0; j < item.Choices.Count; j++) prompt.Append('\n').Append(ChoiceAnswer.Letter(j)).Append(". ").Append(item.Choices[j]);
        return prompt.Append("\nAnswer:");
    }

    public BenchmarkVerdict Score(BenchmarkItem item, string completion) => ((ChoiceItem)item).Score(completion);
}
