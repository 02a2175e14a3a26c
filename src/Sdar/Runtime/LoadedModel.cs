using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Model.Kernels;
using Sdar.Templates;
using Sdar.Tokenization;

namespace Sdar.Runtime;

/// <summary>Which implementation of the decoder runs the forwards.</summary>
public enum EngineKind
{
    /// <summary>The SIMD, multithreaded engine (<see cref="FastModel"/>).</summary>
    Fast,
    /// <summary>The plain reference implementation (<see cref="ReferenceModel"/>): slow, for checking.</summary>
    Reference,
}

/// <summary>
/// A HuggingFace model folder ready to use: weights (memory-mapped), tokenizer, chat template, generation
/// defaults and a generator. Everything the command line and the server do with a model goes through here.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private readonly Checkpoint? _checkpoint;   // null for a model built in memory (WithRandomWeights)
    private readonly ModelTokenizer _tokenizer;

    private LoadedModel(string directory, string name, ModelConfig config, GenerationConfig generationConfig, ModelWeights weights,
        ModelTokenizer tokenizer, ILanguageModel model, IReadOnlyList<int> stopTokenIds, Checkpoint? checkpoint)
    {
        Directory = directory;
        Name = name;
        Config = config;
        GenerationConfig = generationConfig;
        Weights = weights;
        _checkpoint = checkpoint;
        _tokenizer = tokenizer;
        Model = model;
        StopTokenIds = stopTokenIds;
        Generator = Generator.For(model, StopTokenIds, DecodeAnswer);
    }

    /// <summary>
    /// Opens <paramref name="modelDir"/>: config.json, weights, tokenizer.json (+ tokenizer_config.json). A
    /// HuggingFace hub cache folder (<c>models--Org--Name</c>) or a snapshot with symlinked files works too.
    /// </summary>
    /// <param name="kernels">The fast engine's threads and vector width (default: all cores, the widest vectors).</param>
    public static LoadedModel Open(string modelDir, EngineKind engine = EngineKind.Fast, KernelSettings? kernels = null)
    {
        var checkpoint = Checkpoint.Open(modelDir);
        try
        {
            var tokenizer = ModelTokenizer.Open(checkpoint.Directory);
            if (tokenizer.Tokenizer.VocabSize > checkpoint.Config.VocabSize)
                throw new CheckpointException(
                    $"{checkpoint.TokenizerPath}: the tokenizer has {tokenizer.Tokenizer.VocabSize} tokens but config.json vocab_size is {checkpoint.Config.VocabSize}");
            ILanguageModel model = engine == EngineKind.Fast ? new FastModel(checkpoint.Weights, kernels) : new ReferenceModel(checkpoint.Weights);
            return new LoadedModel(checkpoint.Directory, new DirectoryInfo(checkpoint.Directory).Name, checkpoint.Config, checkpoint.GenerationConfig,
                checkpoint.Weights, tokenizer, model, DefaultStopIds(checkpoint), checkpoint);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A model of a real shape (<see cref="ModelShapes"/>) with random BF16 weights built in memory, and the tokenizer
    /// and chat template of <paramref name="tokenizerDir"/>: for measuring a server or an engine at a size no
    /// checkpoint here has. Its answers are not text (many ids are past the tokenizer's vocabulary and decode to
    /// nothing), and it has no stop ids, so every answer runs to its max_tokens.
    /// </summary>
    public static LoadedModel WithRandomWeights(string shape, string tokenizerDir, int seed = 1, KernelSettings? kernels = null) =>
        WithRandomWeights(ModelShapes.Get(shape), $"random-{shape}", tokenizerDir, seed, kernels);

    /// <summary>As <see cref="WithRandomWeights(string, string, int, KernelSettings?)"/> for any config (tests use tiny ones).</summary>
    public static LoadedModel WithRandomWeights(ModelConfig config, string name, string tokenizerDir, int seed = 1, KernelSettings? kernels = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var tokenizer = ModelTokenizer.Open(tokenizerDir);
        if (tokenizer.Tokenizer.VocabSize > config.VocabSize)
            throw new CheckpointException($"{tokenizerDir}: the tokenizer has {tokenizer.Tokenizer.VocabSize} tokens but the model's vocabulary is {config.VocabSize}");
        var weights = RandomModel.Create(config, DType.BF16, seed);
        return new LoadedModel(tokenizerDir, name, config, GenerationConfig.Empty, weights, tokenizer, new FastModel(weights, kernels), [], checkpoint: null);
    }

    /// <summary>
    /// This model with its Linear weights quantized in memory to <paramref name="format"/> (Q8_0 or Q4_0), exactly as
    /// <c>sdar quantize</c> writes them, with the same tokenizer, chat template and stop ids. The embeddings stay
    /// those of this model (memory-mapped from its folder), so the view must not be used after this model is
    /// disposed; disposing the view frees nothing.
    /// </summary>
    public LoadedModel Quantized(DType format)
    {
        var weights = WeightQuantizer.Quantize(Weights, format);
        ILanguageModel model = Model is FastModel fast ? new FastModel(weights, fast.Kernels) : new ReferenceModel(weights);
        return new LoadedModel(Directory, $"{Name}-{format.ToString().ToLowerInvariant()}", weights.Config, GenerationConfig, weights, _tokenizer, model,
            StopTokenIds, checkpoint: null);
    }

    /// <summary>The model's folder (for a random model, the folder its tokenizer came from).</summary>
    public string Directory { get; }
    /// <summary>The name a server gives the model: the folder's name, or <c>random-SHAPE</c>.</summary>
    public string Name { get; }
    public ModelConfig Config { get; }
    public GenerationConfig GenerationConfig { get; }
    public ModelWeights Weights { get; }
    public HfTokenizer Tokenizer => _tokenizer.Tokenizer;
    /// <summary>The stateless model (fast or reference implementation).</summary>
    public ILanguageModel Model { get; }
    public Generator Generator { get; }

    /// <summary>An engine over this model with the checkpoint's stop ids: what servers and the evaluation harness drive.</summary>
    public Engine CreateEngine(EngineOptions? options = null) => new(Model, options, StopTokenIds, DecodeAnswer);

    /// <summary>An answer's text as stop strings see it (special tokens left out, as the CLI prints it).</summary>
    private string DecodeAnswer(IReadOnlyList<int> ids) => _tokenizer.Tokenizer.Decode(ids, skipSpecialTokens: true);

    /// <summary>Ids that end generation: generation_config.json's eos_token_id, else config.json's.</summary>
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>The chat template of tokenizer_config.json, parsed on first use; null when the model has none.</summary>
    public ChatTemplate? ChatTemplate => _tokenizer.ChatTemplate;

    /// <summary>Renders a conversation with the model's chat template (transformers' apply_chat_template).</summary>
    /// <param name="tools">OpenAI-style tool definitions, rendered by templates that support them (Qwen3's does).</param>
    public string RenderChat(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, bool addGenerationPrompt = true, bool? enableThinking = null,
        IReadOnlyList<object?>? tools = null) =>
        _tokenizer.RenderChat(messages, addGenerationPrompt, enableThinking, tools);

    /// <summary>
    /// The prompt ids for a user text: raw, or as a one-turn chat (optional system message) with the generation
    /// prompt added, as chat models expect.
    /// </summary>
    public int[] EncodePrompt(string text, bool chat, string? system = null, bool? enableThinking = null)
    {
        if (!chat) return Tokenizer.Encode(text).ToArray();
        var messages = new List<IReadOnlyDictionary<string, object?>>();
        if (system is not null) messages.Add(ChatMessages.Message("system", system));
        messages.Add(ChatMessages.Message("user", text));
        return Tokenizer.Encode(RenderChat(messages, addGenerationPrompt: true, enableThinking)).ToArray();
    }

    private static IReadOnlyList<int> DefaultStopIds(Checkpoint checkpoint)
    {
        if (checkpoint.GenerationConfig.EosTokenIds.Count > 0) return checkpoint.GenerationConfig.EosTokenIds;
        return checkpoint.Config.EosTokenIds;
    }

    public void Dispose() => _checkpoint?.Dispose();
}
