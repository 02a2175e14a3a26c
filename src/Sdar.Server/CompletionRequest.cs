using Sdar.Decoding;

namespace Sdar.Server;

/// <summary>Which OpenAI route a request came by.</summary>
public enum CompletionKind
{
    /// <summary><c>POST /v1/chat/completions</c>: messages rendered with the chat template.</summary>
    Chat,
    /// <summary><c>POST /v1/completions</c>: a raw prompt (text or token ids).</summary>
    Text,
}

/// <summary>
/// An OpenAI request body read into the engine's terms. Exactly one of <see cref="Messages"/> (chat),
/// <see cref="PromptText"/> or <see cref="PromptIds"/> (completions) is set.
/// </summary>
public sealed record CompletionRequest
{
    public required CompletionKind Kind { get; init; }
    /// <summary>The <c>model</c> field, null when the client left it out.</summary>
    public string? Model { get; init; }
    public IReadOnlyList<IReadOnlyDictionary<string, object?>>? Messages { get; init; }
    /// <summary><c>chat_template_kwargs.enable_thinking</c>; null leaves the template's default.</summary>
    public bool? EnableThinking { get; init; }
    /// <summary>Tool calling (chat): the tools the template lists, a forced call's opening, parallel calls.</summary>
    public ChatTools Tools { get; init; } = ChatTools.None;
    public string? PromptText { get; init; }
    public int[]? PromptIds { get; init; }
    /// <summary>The options of choice 0; choice i uses seed + i (see <see cref="OptionsForChoice"/>).</summary>
    public required GenerationOptions Options { get; init; }
    public int N { get; init; } = 1;
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    /// <summary>The field that set the answer length (<c>max_tokens</c> or <c>max_completion_tokens</c>), for errors.</summary>
    public string MaxTokensParam { get; init; } = "max_tokens";

    /// <summary>
    /// The options of choice <paramref name="index"/>: with a seed, seed + index, so that the n answers differ and
    /// each is reproducible; without one, each draws its own.
    /// </summary>
    public GenerationOptions OptionsForChoice(int index) =>
        Options.Seed is long seed ? Options with { Seed = unchecked(seed + index) } : Options;
}
