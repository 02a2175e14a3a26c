using System.Globalization;
using System.Text;
using System.Text.Json;
using Sdar.Checkpoints;
using Sdar.Data;
using Sdar.Decoding;

namespace Sdar.Evaluation.Runs;

/// <summary>A completion read back from a predictions file: its text and what it cost.</summary>
public sealed record LoggedCompletion(int Item, int Sample, string Text, int GeneratedTokens, NfeCount? Nfe);

/// <summary>
/// The resumable predictions file of an evaluation: one JSONL line per finished completion (its verdict and cost),
/// appended and flushed as each one finishes, so an interrupted run loses at most the completions in flight. A run
/// with the same settings continues where the file stops; an incomplete last line (a kill mid-write) is dropped.
/// The settings live beside it in <c>FILE.run.json</c> and must match, so two different runs never mix in one file.
/// When every completion is in, the file is rewritten in item order (atomically).
/// </summary>
public sealed class PredictionsLog : IDisposable
{
    private readonly string _path;
    private readonly FileStream _stream;
    private readonly Dictionary<(int Item, int Sample), LoggedCompletion> _done;

    private PredictionsLog(string path, FileStream stream, Dictionary<(int, int), LoggedCompletion> done, int droppedBytes)
    {
        _path = path;
        _stream = stream;
        _done = done;
        DroppedIncompleteLine = droppedBytes > 0;
    }

    /// <summary>The completions an earlier run of the same settings already wrote.</summary>
    public IReadOnlyDictionary<(int Item, int Sample), LoggedCompletion> Done => _done;

    /// <summary>Whether the file ended in a line cut short, which was dropped (its completion is generated again).</summary>
    public bool DroppedIncompleteLine { get; }

    /// <summary>The settings file beside <paramref name="path"/>.</summary>
    public static string SettingsPath(string path) => path + ".run.json";

    /// <summary>
    /// Opens <paramref name="path"/> for the run described by <paramref name="settings"/>: continues the file of an
    /// earlier run with the same settings, starts a new one where there is none (or <paramref name="restart"/>), and
    /// refuses a file written with other settings, naming the first that differs.
    /// </summary>
    public static PredictionsLog Open(string path, IReadOnlyDictionary<string, string> settings, int items, int samples, bool restart = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(settings);
        string full = Path.GetFullPath(path), settingsPath = SettingsPath(full);
        if (restart)
        {
            File.Delete(full);
            File.Delete(settingsPath);
        }
        var done = new Dictionary<(int, int), LoggedCompletion>();
        int dropped = 0;
        if (File.Exists(full) && new FileInfo(full).Length > 0)
        {
            if (!File.Exists(settingsPath))
                throw new BenchmarkDataException($"--predictions {full}: the file exists but was not written by a resumable run (no {Path.GetFileName(settingsPath)} beside it); delete it, choose another file, or give --restart");
            CheckSameSettings(full, settingsPath, settings);
            dropped = ReadDone(full, done, items, samples);
        }
        else
        {
            AtomicFile.Write(settingsPath, stream => JsonSerializer.Serialize(stream, new SortedDictionary<string, string>(settings.ToDictionary(), StringComparer.Ordinal),
                new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        }
        var stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            // Cut an incomplete last line off, then append after the last whole one.
            stream.SetLength(stream.Length - dropped);
            stream.Seek(0, SeekOrigin.End);
            return new PredictionsLog(full, stream, done, dropped);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one finished completion, with its verdict and cost, as a whole line on disk.</summary>
    public void Append(BenchmarkVerdict verdict, int sample, int generatedTokens, NfeCount? nfe)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Jsonl.WriterOptions))
            WriteLine(writer, verdict, sample, generatedTokens, nfe);
        buffer.WriteByte((byte)'\n');
        // One write of the whole line, then to the disk: a kill leaves whole lines and at most one partial last line.
        _stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _stream.Flush(flushToDisk: true);
        _done[(verdict.Index, sample)] = new LoggedCompletion(verdict.Index, sample, verdict.Prediction, generatedTokens, nfe);
    }

    /// <summary>Rewrites the finished file in item and sample order (atomically): the run is complete.</summary>
    public void Complete(BenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _stream.Dispose();
        var lines = report.Verdicts.SelectMany(v => v.Select((verdict, sample) => (verdict, sample)));
        Jsonl.Write(_path, lines, (w, line) =>
        {
            var logged = _done[(line.verdict.Index, line.sample)];
            WriteLine(w, line.verdict, line.sample, logged.GeneratedTokens, logged.Nfe);
        });
    }

    public void Dispose() => _stream.Dispose();

    private static void WriteLine(Utf8JsonWriter writer, BenchmarkVerdict verdict, int sample, int generatedTokens, NfeCount? nfe) =>
        BenchmarkScorer.WriteVerdict(writer, verdict, sample, w =>
        {
            w.WriteNumber("generated_tokens", generatedTokens);
            if (nfe is { } n)
            {
                w.WriteNumber("nfe_denoise", n.Denoise);
                w.WriteNumber("nfe_total", n.Total);
            }
        });

    private static void CheckSameSettings(string full, string settingsPath, IReadOnlyDictionary<string, string> settings)
    {
        Dictionary<string, string>? earlier;
        try
        {
            earlier = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(settingsPath));
        }
        catch (JsonException e)
        {
            throw new BenchmarkDataException($"{settingsPath}: not the settings of an evaluation ({e.Message}); delete it and {full}, or give --restart", e);
        }
        foreach (string key in settings.Keys.Union(earlier?.Keys ?? Enumerable.Empty<string>()).Order(StringComparer.Ordinal))
        {
            string? before = earlier?.GetValueOrDefault(key), now = settings.GetValueOrDefault(key);
            if (before != now)
                throw new BenchmarkDataException(
                    $"--predictions {full}: written by a run with other settings ({key}: \"{before ?? "(none)"}\" then, \"{now ?? "(none)"}\" now); give the same settings to continue it, another file, or --restart to start over");
        }
    }

    /// <summary>Reads the whole lines into <paramref name="done"/>; returns the length of an incomplete last line to drop.</summary>
    private static int ReadDone(string path, Dictionary<(int, int), LoggedCompletion> done, int items, int samples)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int start = 0, line = 0;
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            line++;
            if (end < 0) return bytes.Length - start;   // cut short by a kill: no newline yet
            var span = bytes.AsSpan(start, end - start);
            start = end + 1;
            if (span.IsEmpty) continue;
            string where = $"{path} line {line.ToString(CultureInfo.InvariantCulture)}";
            try
            {
                using var document = JsonDocument.Parse(span.ToArray());
                var root = document.RootElement;
                int item = JsonFields.Integer(JsonFields.Required(root, "index", where), "index", where);
                int sample = JsonFields.Has(root, "sample") ? JsonFields.Integer(root.GetProperty("sample"), "sample", where) : 0;
                if (item < 0 || item >= items || sample < 0 || sample >= samples)
                    throw new BenchmarkDataException($"{where}: item {item} sample {sample} is outside this run's {items} items × {samples} samples");
                string text = JsonFields.RequiredString(root, "prediction", where);
                int tokens = JsonFields.Has(root, "generated_tokens") ? JsonFields.Integer(root.GetProperty("generated_tokens"), "generated_tokens", where) : 0;
                NfeCount? nfe = JsonFields.Has(root, "nfe_denoise") && JsonFields.Has(root, "nfe_total")
                    ? new NfeCount(JsonFields.Integer(root.GetProperty("nfe_denoise"), "nfe_denoise", where), JsonFields.Integer(root.GetProperty("nfe_total"), "nfe_total", where))
                    : null;
                done[(item, sample)] = new LoggedCompletion(item, sample, text, tokens, nfe);
            }
            catch (JsonException e)
            {
                throw new BenchmarkDataException($"{where}: not JSON ({e.Message}); the predictions file was edited or mixed with another", e);
            }
        }
        return 0;
    }
}
