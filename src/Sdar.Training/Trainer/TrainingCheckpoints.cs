using System.Text.Json;
using Sdar.IO;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Model;
using Sdar.Training.Modeling;

namespace Sdar.Training;

/// <summary>What, besides weights and optimiser moments, a resume needs: where the run stood.</summary>
public sealed record TrainerState
{
    public required int Step { get; init; }
    public required int Epoch { get; init; }
    public required int Row { get; init; }
    public required long Tokens { get; init; }
    public required double ElapsedSeconds { get; init; }
    public required int AdamSteps { get; init; }
    /// <summary>The run's seed: every random draw derives from it and the step, so it is the whole RNG state.</summary>
    public required long Seed { get; init; }
    public required int SequenceLength { get; init; }
    public required int BatchRows { get; init; }
    public required int GradientAccumulation { get; init; }
    public required string Objective { get; init; }
}

/// <summary>
/// The checkpoints of a run: <c>{run}/checkpoints/step-NNNNNNN/</c>, each a complete HF folder with float32 weights
/// (usable as a model), plus <c>optimizer.safetensors</c> (AdamW moments) and <c>trainer_state.json</c>. Each is
/// written to a temporary folder and renamed into place, so a crash never leaves a half-written checkpoint.
/// </summary>
public static class TrainingCheckpoints
{
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";
    private const string Prefix = "step-";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Folder(string runDirectory) => Path.Combine(runDirectory, "checkpoints");

    public static string PathOf(string runDirectory, int step) => Path.Combine(Folder(runDirectory), $"{Prefix}{step:D7}");

    public static void Save(string runDirectory, Qwen3ForCausalLM model, AdamW optimizer, TrainerState state,
        GenerationConfig? generation, string? tokenizerDir)
    {
        var moments = optimizer.State().ToDictionary(kv => kv.Key,
            kv => new WeightTensor(kv.Key, DType.F32, kv.Value.shape.Select(d => (int)d).ToArray(),
                ModelFolder.Encode(kv.Value.contiguous().data<float>().ToArray(), DType.F32)), StringComparer.Ordinal);
        ModelFolder.Save(model, PathOf(runDirectory, state.Step), DType.F32, generation, tokenizerDir, dir =>
        {
            SafetensorsWriter.Write(Path.Combine(dir, OptimizerFile), moments);
            File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, Json));
        });
    }

    /// <summary>The newest complete checkpoint of the run, or null.</summary>
    public static (string Directory, TrainerState State)? Latest(string runDirectory)
    {
        string folder = Folder(runDirectory);
        AtomicDirectory.RemoveStale(folder);
        var newest = All(runDirectory).LastOrDefault();
        if (newest is null) return null;
        string statePath = Path.Combine(newest, StateFile);
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), Json)
            ?? throw new InvalidDataException($"{statePath}: empty trainer state");
        return (newest, state);
    }

    /// <summary>Loads a checkpoint's weights and optimiser moments into <paramref name="model"/> and <paramref name="optimizer"/>.</summary>
    public static void Restore(string directory, TrainerState state, Qwen3ForCausalLM model, AdamW optimizer)
    {
        using (var checkpoint = Checkpoint.Open(directory))
            ModelFolder.CopyInto(model, ModelLayout.NamedTensors(checkpoint.Weights), directory);
        string optimizerPath = Path.Combine(directory, OptimizerFile);
        using var moments = SafetensorsFile.Open(optimizerPath);
        optimizer.Load(moments.Tensors.ToDictionary(kv => kv.Key, kv => ModelFolder.ToFloats(kv.Value), StringComparer.Ordinal),
            state.AdamSteps, optimizerPath);
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints.</summary>
    public static void Prune(string runDirectory, int keep)
    {
        var all = All(runDirectory);
        foreach (var old in all.Take(Math.Max(0, all.Count - keep))) Directory.Delete(old, recursive: true);
    }

    private static List<string> All(string runDirectory)
    {
        string folder = Folder(runDirectory);
        if (!Directory.Exists(folder)) return [];
        return Directory.EnumerateDirectories(folder, Prefix + "*")
            .Where(d => File.Exists(Path.Combine(d, StateFile)))
            .OrderBy(d => d, StringComparer.Ordinal).ToList();
    }
}
