using Sdar.Checkpoints;
using Sdar.Templates;
using Sdar.Tokenization;

namespace Sdar.Runtime;

/// <summary>
/// The tokenizer and chat template of a model folder on their own, without config.json or weights (what
/// <c>sdar tokenize</c> needs): a folder with <c>tokenizer.json</c> (and optionally <c>tokenizer_config.json</c>),
/// a HuggingFace hub cache folder <c>models--Org--Name</c> or one of its snapshots (see <see cref="CheckpointFolder"/>).
/// </summary>
public sealed class ModelTokenizer
{
    public const string FileName = "tokenizer.json";

    private readonly Lazy<ChatTemplate?> _chatTemplate;

    private ModelTokenizer(string directory, HfTokenizer tokenizer)
    {
        Directory = directory;
        Tokenizer = tokenizer;
        _chatTemplate = new Lazy<ChatTemplate?>(() => tokenizer.ChatTemplate is { } source ? ParseTemplate(source, tokenizer.ChatTemplateOrigin) : null);
    }

    /// <summary>The folder the files were read from (for a hub cache folder, its snapshot).</summary>
    public string Directory { get; }
    public HfTokenizer Tokenizer { get; }

    /// <summary>The chat template (chat_template.jinja or tokenizer_config.json), parsed on first use; null when there is none.</summary>
    public ChatTemplate? ChatTemplate => _chatTemplate.Value;

    /// <summary>Loads the tokenizer of <paramref name="modelDir"/>; a missing or unusable file is a <see cref="CheckpointException"/>.</summary>
    public static ModelTokenizer Open(string modelDir)
    {
        string directory = CheckpointFolder.Resolve(modelDir, FileName);
        string path = Path.Combine(directory, FileName);
        if (!CheckpointFiles.Exists(path) && new FileInfo(path).LinkTarget is null)
            throw new CheckpointException($"{path}: file not found (a model folder needs its {FileName})");
        CheckpointFiles.RequireRegularFile(path, FileName);
        foreach (string companion in new[] { "tokenizer_config.json", "chat_template.jinja" })
        {
            string companionPath = Path.Combine(directory, companion);
            if (File.Exists(companionPath) || System.IO.Directory.Exists(companionPath) || new FileInfo(companionPath).LinkTarget is not null)
                CheckpointFiles.RequireRegularFile(companionPath, companion);
        }
        return new ModelTokenizer(directory, HfTokenizer.Load(path));
    }

    /// <summary>Renders a conversation with the chat template (transformers' apply_chat_template).</summary>
    /// <param name="tools">OpenAI-style tool definitions (<c>{"type": "function", "function": {...}}</c>) for templates that render them.</param>
    public string RenderChat(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, bool addGenerationPrompt = true, bool? enableThinking = null,
        IReadOnlyList<object?>? tools = null)
    {
        var template = ChatTemplate ?? throw new CheckpointException(
            $"{Path.Combine(Directory, "tokenizer_config.json")}: no chat_template; the model cannot format chat messages");
        return template.RenderChat(messages, addGenerationPrompt, enableThinking,
            bosToken: Tokenizer.BosToken ?? "", eosToken: Tokenizer.EosToken ?? "", tools);
    }

    private ChatTemplate ParseTemplate(string source, string? origin)
    {
        try
        {
            // The template's name leads every parse and render error: "<folder>/tokenizer_config.json chat_template: line 3: ...".
            return ChatTemplate.Parse(source, origin ?? $"{Path.Combine(Directory, "tokenizer_config.json")} chat_template");
        }
        catch (TemplateException e)
        {
            throw new CheckpointException(e.Message, e);
        }
    }
}
