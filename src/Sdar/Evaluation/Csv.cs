using System.Text;

namespace Sdar.Evaluation;

/// <summary>
/// RFC 4180 CSV as Python's csv module writes it (the format of MMLU's and GPQA's files): fields separated by
/// commas, quoted with '"' when they hold a comma, a quote (doubled) or a line break; records end at CRLF or LF.
/// </summary>
internal static class Csv
{
    /// <summary>Every record with the line it starts on (1-based), so that errors can name it.</summary>
    public static IEnumerable<(int Line, IReadOnlyList<string> Fields)> Read(string path)
    {
        if (!File.Exists(path)) throw new BenchmarkDataException($"{path}: file not found");
        string text = File.ReadAllText(path, new UTF8Encoding(false, true));
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, i = 0;
        bool quoted = false, fieldStarted = false;
        while (i < text.Length)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                if (c == '"') { quoted = false; i++; continue; }
                if (c == '\n') line++;
                field.Append(c);
                i++;
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0 && !fieldStarted:
                    quoted = true;
                    fieldStarted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    if (!(fields.Count == 1 && fields[0].Length == 0)) yield return (recordLine, fields.ToArray());
                    fields.Clear();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    break;
            }
            i++;
        }
        if (quoted) throw new BenchmarkDataException($"{path} line {recordLine}: a quoted field is never closed");
        if (field.Length > 0 || fields.Count > 0 || fieldStarted)
        {
            fields.Add(field.ToString());
            yield return (recordLine, fields.ToArray());
        }
    }
}
