using Sdar.Config;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// A HuggingFace checkpoint folder opened for inference (DESIGN section 5): <c>config.json</c>,
/// <c>generation_config.json</c> (optional) and memory-mapped safetensors weights bound to the architecture.
/// Disposing it unmaps the weights; <see cref="Weights"/> must not be used afterwards.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly WeightFiles _files;

    /// <summary>The checkpoint folder's full path.</summary>
    public string Directory { get; }
    public ModelConfig Config { get; }
    public GenerationConfig GenerationConfig { get; }
    public ModelWeights Weights { get; }
    /// <summary>Where the tokenizer is expected (<c>tokenizer.json</c>); the file may be absent.</summary>
    public string TokenizerPath => Path.Combine(Directory, "tokenizer.json");
    /// <summary>The weight files: one <c>model.safetensors</c> or the shards of the index.</summary>
    public IReadOnlyList<string> WeightPaths => _files.Files.Select(f => f.Path).ToList();

    private Checkpoint(string directory, ModelConfig config, GenerationConfig generation, WeightFiles files, ModelWeights weights)
    {
        Directory = directory;
        Config = config;
        GenerationConfig = generation;
        _files = files;
        Weights = weights;
    }

    /// <summary>
    /// Opens <paramref name="modelDir"/>: a checkpoint folder, a HuggingFace hub cache folder
    /// (<c>models--Org--Name</c>, see <see cref="CheckpointFolder"/>) or one of its snapshots, whose files may be
    /// symlinks. A missing folder, config or weight file, a file that is not a regular file, an invalid config or
    /// generation config, or weights that do not match the config (missing, unexpected or wrongly shaped tensors)
    /// is a <see cref="CheckpointException"/>.
    /// </summary>
    public static Checkpoint Open(string modelDir)
    {
        string directory = CheckpointFolder.Resolve(modelDir, ConfigLoader.ConfigFileName);
        string configPath = Path.Combine(directory, ConfigLoader.ConfigFileName);
        if (!CheckpointFiles.Exists(configPath) && new FileInfo(configPath).LinkTarget is null)
            throw new CheckpointException($"{directory}: not a checkpoint folder: {ConfigLoader.ConfigFileName} is missing");

        var config = ConfigLoader.LoadModelConfig(configPath);
        string generationPath = Path.Combine(directory, ConfigLoader.GenerationConfigFileName);
        var generation = ConfigLoader.LoadGenerationConfig(generationPath);
        ConfigLoader.Validate(generation, config.VocabSize, generationPath);
        var files = WeightFiles.OpenDirectory(directory);
        try
        {
            // Packed quantized weights (NAME.qweight + NAME.scales) are checked and bound as NAME.weight.
            var tensors = QuantizedTensors.Assemble(config, files.Tensors, files.FileOf);
            string FileOf(string name) => files.Tensors.ContainsKey(name) || !name.EndsWith(QuantizedTensors.WeightSuffix, StringComparison.Ordinal)
                ? files.FileOf(name)
                : files.FileOf(name[..^QuantizedTensors.WeightSuffix.Length] + QuantizedTensors.ValuesSuffix);
            var weights = ModelWeights.Bind(config, tensors, files.Origin, FileOf);
            return new Checkpoint(directory, config, generation, files, weights);
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    public void Dispose() => _files.Dispose();
}
