using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Checkpoints;
using Sdar.Training.Plotting;

namespace Sdar.Training;

/// <summary>
/// The run's JSONL log (one object per train step or evaluation, each with "type" and "step") and the PNG plot
/// drawn from it. After a resume, the records past the checkpoint's step are dropped, so the log reads as if the
/// run had never been interrupted.
/// </summary>
public sealed class TrainingLog
{
    public TrainingLog(string runDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        LogPath = Path.Combine(runDirectory, "log.jsonl");
        PlotPath = Path.Combine(runDirectory, "loss.png");
    }

    public string LogPath { get; }
    public string PlotPath { get; }

    public void Append(JsonObject record) => File.AppendAllText(LogPath, record.ToJsonString() + "\n");

    /// <summary>Keeps the records of steps up to <paramref name="step"/> (all of them are dropped for 0).</summary>
    public void TruncateAfter(int step)
    {
        if (!File.Exists(LogPath)) return;
        var kept = Records().Where(r => r["step"]!.GetValue<int>() <= step).Select(r => r.ToJsonString() + "\n");
        AtomicFile.WriteText(LogPath, string.Concat(kept));
    }

    /// <summary>Every record in the log; a torn last line (a crash mid-append) is skipped.</summary>
    public List<JsonObject> Records()
    {
        var records = new List<JsonObject>();
        if (!File.Exists(LogPath)) return records;
        foreach (string line in File.ReadLines(LogPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonNode.Parse(line) is JsonObject obj && obj["step"] is not null) records.Add(obj);
            }
            catch (JsonException)
            {
            }
        }
        return records;
    }

    /// <summary>Redraws the loss plot from the log.</summary>
    public void Plot()
    {
        var records = Records();
        List<(double, double)> Points(string type) => records
            .Where(r => r["type"]?.GetValue<string>() == type)
            .Select(r => ((double)r["step"]!.GetValue<int>(), r["loss"]!.GetValue<double>())).ToList();
        byte[] png = LossPlot.Render(Points("train"), Points("eval"));
        AtomicFile.Write(PlotPath, stream => stream.Write(png));
    }

    internal static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
