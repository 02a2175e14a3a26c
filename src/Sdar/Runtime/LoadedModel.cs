using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Model;
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
    private readonly Checkpoint _checkpoint;
    private readonly ModelTokenizer _tokenizer;

    private LoadedModel(Checkpoint checkpoint, ModelTokenizer tokenizer, ILanguageModel model)
    {
        _checkpoint = checkpoint;
        _tokenizer = tokenizer;
        Model = model;
        StopTokenIds = DefaultStopIds(checkpoint);
        Generator = Generator.For(model, StopTokenIds, DecodeAnswer);
    }

    /// <summary>
    /// Opens <paramref name="modelDir"/>: config.json, weights, tokenizer.json (+ tokenizer_config.json). A
    /// HuggingFace hub cache folder (<c>models--Org--Name</c>) or a snapshot with symlinked files works too.
    /// </summary>
    public static LoadedModel Open(string modelDir, EngineKind engine = EngineKind.Fast)
    {
        var checkpoint = Checkpoint.Open(modelDir);
        try
        {
            var tokenizer = ModelTokenizer.Open(checkpoint.Directory);
            if (tokenizer.Tokenizer.VocabSize > checkpoint.Config.VocabSize)
                throw new CheckpointException(
                    $"{checkpoint.TokenizerPath}: the tokenizer has {tokenizer.Tokenizer.VocabSize} tokens but config.json vocab_size is {checkpoint.Config.VocabSize}");
            ILanguageModel model = engine == EngineKind.Fast ? new FastModel(checkpoint.Weights) : new ReferenceModel(checkpoint.Weights);
            return new LoadedModel(checkpoint, tokenizer, model);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    public string Directory => _checkpoint.Directory;
    public ModelConfig Config => _checkpoint.Config;
    public GenerationConfig GenerationConfig => _checkpoint.GenerationConfig;
    public ModelWeights Weights => _checkpoint.Weights;
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

    public void Dispose() => _checkpoint.Dispose();
}
