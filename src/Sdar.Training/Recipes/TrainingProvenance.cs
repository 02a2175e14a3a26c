using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sdar.Training.Recipes;

/// <summary>One training run that shaped a model folder's weights.</summary>
/// <param name="Recipe">pretrain, convert or sft.</param>
/// <param name="Objective">autoregressive or block-diffusion.</param>
/// <param name="BlockLength">B of the block-diffusion objective; null for autoregressive stages.</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="Tokens">Input tokens (packed rows, padding included).</param>
/// <param name="ModelTokens">Tokens through the model: twice <paramref name="Tokens"/> in the [noised, clean] layout.</param>
/// <param name="Seconds">Wall time of the run.</param>
public sealed record TrainingStage(string Recipe, string Objective, int? BlockLength, int Steps, long Tokens, long ModelTokens, double Seconds);

/// <summary>
/// <c>training.json</c> in a model folder written by a recipe: every training stage since random initialisation,
/// so that models reached by different paths can be compared at equal training compute (the paper's claim (c):
/// AR-then-convert against diffusion from scratch). Each recipe copies its source folder's stages and appends its
/// own. A source folder without the file (a downloaded checkpoint) makes the history incomplete, which
/// <see cref="FromInitialisation"/> records.
/// </summary>
/// <param name="Parameters">Parameters of the model (the 6 N D estimate's N).</param>
/// <param name="FromInitialisation">True when the stages go back to random initialisation.</param>
public sealed record TrainingProvenance(long Parameters, bool FromInitialisation, IReadOnlyList<TrainingStage> Stages)
{
    public const string FileName = "training.json";

    /// <summary>Training FLOPs by the usual estimate: 6 x parameters x model tokens over all stages.</summary>
    public double Flops => 6.0 * Parameters * Stages.Sum(s => (double)s.ModelTokens);

    /// <summary>
    /// The history after one more stage: <paramref name="source"/> is the training.json of the folder the recipe
    /// started from (null when that folder had none), <paramref name="fromScratch"/> says the recipe started from a
    /// random initialisation instead.
    /// </summary>
    public static TrainingProvenance Extend(TrainingProvenance? source, bool fromScratch, long parameters, TrainingStage stage) =>
        fromScratch || source is null
            ? new TrainingProvenance(parameters, FromInitialisation: fromScratch, [stage])
            : new TrainingProvenance(parameters, source.FromInitialisation, [.. source.Stages, stage]);

    /// <summary>The folder's training.json, or null when it has none; a malformed file throws naming the field.</summary>
    public static TrainingProvenance? Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})");
        }
        long parameters = Number<long>(root, "parameters", path);
        if (parameters <= 0) throw new InvalidDataException($"{path}: \"parameters\" must be positive (got {parameters})");
        if (root["from_initialisation"] is not JsonValue initial || !initial.TryGetValue(out bool fromInitialisation))
            throw new InvalidDataException($"{path}: \"from_initialisation\" must be true or false");
        if (root["stages"] is not JsonArray stages) throw new InvalidDataException($"{path}: \"stages\" must be an array");
        var list = new List<TrainingStage>();
        for (int i = 0; i < stages.Count; i++)
        {
            string where = $"stages[{i}]";
            if (stages[i] is not JsonObject s) throw new InvalidDataException($"{path}: {where} must be an object");
            string recipe = Text(s, "recipe", path, where), objective = Text(s, "objective", path, where);
            if (objective is not ("autoregressive" or "block-diffusion"))
                throw new InvalidDataException($"{path}: {where}.objective must be autoregressive or block-diffusion (got '{objective}')");
            int? block = s["block_length"] is null ? null : Number<int>(s, "block_length", path, where);
            int steps = Number<int>(s, "steps", path, where);
            long tokens = Number<long>(s, "tokens", path, where), modelTokens = Number<long>(s, "model_tokens", path, where);
            double seconds = Number<double>(s, "seconds", path, where);
            if (steps < 0 || tokens < 0 || modelTokens < tokens || seconds < 0)
                throw new InvalidDataException($"{path}: {where} needs steps, tokens and seconds >= 0 and model_tokens >= tokens");
            list.Add(new TrainingStage(recipe, objective, block, steps, tokens, modelTokens, seconds));
        }
        return new TrainingProvenance(parameters, fromInitialisation, list);
    }

    /// <summary>Writes training.json into <paramref name="directory"/>.</summary>
    public void Write(string directory)
    {
        var stages = new JsonArray();
        foreach (var s in Stages)
        {
            var stage = new JsonObject { ["recipe"] = s.Recipe, ["objective"] = s.Objective };
            if (s.BlockLength is { } b) stage["block_length"] = b;
            stage["steps"] = s.Steps;
            stage["tokens"] = s.Tokens;
            stage["model_tokens"] = s.ModelTokens;
            stage["seconds"] = Math.Round(s.Seconds, 1);
            stages.Add(stage);
        }
        var root = new JsonObject
        {
            ["parameters"] = Parameters,
            ["from_initialisation"] = FromInitialisation,
            ["flops"] = Flops,
            ["stages"] = stages,
        };
        File.WriteAllText(Path.Combine(directory, FileName), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static string Text(JsonObject o, string field, string path, string where) =>
        o[field] is JsonValue v && v.TryGetValue(out string? text) && !string.IsNullOrWhiteSpace(text)
            ? text
            : throw new InvalidDataException($"{path}: {where}.{field} must be a non-empty string");

    private static T Number<T>(JsonObject o, string field, string path, string? where = null) where T : struct, INumber<T>
    {
        string name = where is null ? $"\"{field}\"" : $"{where}.{field}";
        if (o[field] is not JsonValue v) throw new InvalidDataException($"{path}: {name} is missing (expected a number)");
        if (v.TryGetValue(out T value)) return value;
        throw new InvalidDataException($"{path}: {name} must be a number of type {typeof(T).Name} (got {v.ToJsonString()})");
    }
}
