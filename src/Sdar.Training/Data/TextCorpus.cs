namespace Sdar.Training.Data;

/// <summary>
/// Pretraining documents from JSONL: <c>{"text": ...}</c> lines, or GSM8K-style <c>{"question", "answer"}</c>
/// lines joined as one text (question, newline, answer). Each document is tokenized and ends with EOS, so the
/// model learns where a text stops; every token is a label.
/// </summary>
public static class TextCorpus
{
    /// <summary>The text of a GSM8K-style record.</summary>
    public static string JoinQuestionAnswer(string question, string answer) => question + "\n" + answer;

    /// <summary>The documents of <paramref name="paths"/> as text, in file and line order.</summary>
    public static List<string> ReadTexts(IEnumerable<string> paths)
    {
        var texts = new List<string>();
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            texts.AddRange(JsonlFile.Read(full, (obj, line) =>
            {
                string? text = JsonlFile.OptionalString(obj, "text", full, line);
                if (text is not null) return text;
                string? question = JsonlFile.OptionalString(obj, "question", full, line);
                string? answer = JsonlFile.OptionalString(obj, "answer", full, line);
                if (question is not null && answer is not null) return JoinQuestionAnswer(question, answer);
                throw new DataFileException(full, line,
                    "expected a \"text\" string, or \"question\" and \"answer\" strings" +
                    (question is not null ? " (\"answer\" is missing)" : answer is not null ? " (\"question\" is missing)" : ""));
            }));
        }
        return texts;
    }

    /// <summary>Tokenizes every document of <paramref name="paths"/> and appends <paramref name="eosId"/>.</summary>
    public static List<TrainingSample> Load(IEnumerable<string> paths, Func<string, int[]> encode, int eosId)
    {
        var texts = ReadTexts(paths);
        var samples = new TrainingSample[texts.Count];
        Parallel.For(0, texts.Count, i =>
        {
            int[] tokens = [.. encode(texts[i]), eosId];
            samples[i] = TrainingSample.AllLabels(tokens);
        });
        return [.. samples];
    }
}
