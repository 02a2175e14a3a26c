namespace Sdar.Decoding;

/// <summary>
/// A generation option that cannot run, as data: which option (<see cref="Field"/>, its snake_case name in the
/// official scripts and the OpenAI API), what it must be (<see cref="Expected"/>) and what it was
/// (<see cref="Given"/>). The library's <see cref="Exception.Message"/> names the option by its property and field
/// ("MaxNewTokens (max_new_tokens) must be at least 1; got 0"); an edge that speaks other words (a CLI flag, an
/// OpenAI <c>param</c>) words it with <see cref="MessageNaming"/> or builds its own from the three fields.
/// </summary>
public sealed class GenerationOptionException : ArgumentException
{
    /// <summary>Where <see cref="MessageNaming"/> puts the option's name in a message template.</summary>
    public const string OptionPlaceholder = "{option}";

    private readonly string _template;

    /// <param name="field">The option's snake_case name, e.g. <c>max_new_tokens</c>.</param>
    /// <param name="expected">What the option must be, e.g. "an integer of at least 1".</param>
    /// <param name="given">The value given, as text.</param>
    /// <param name="messageTemplate">
    /// The human-readable message; its first <see cref="OptionPlaceholder"/> marks where the option is named (a
    /// message that names no option, such as a checkpoint's missing mask id, has none).
    /// </param>
    /// <param name="optionName">How the library names the option in <see cref="Exception.Message"/>; default: <paramref name="field"/>.</param>
    public GenerationOptionException(string field, string expected, string given, string messageTemplate, string? optionName = null)
        : base(Fill(messageTemplate, optionName ?? field))
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        Field = field;
        Expected = expected ?? throw new ArgumentNullException(nameof(expected));
        Given = given ?? throw new ArgumentNullException(nameof(given));
        _template = messageTemplate;
    }

    /// <summary>The option's snake_case name (<c>max_new_tokens</c>, <c>top_p</c>, <c>logit_bias</c>, <c>stop</c>, ...).</summary>
    public string Field { get; }

    /// <summary>What the option must be, in words.</summary>
    public string Expected { get; }

    /// <summary>The value given, as text.</summary>
    public string Given { get; }

    /// <summary>The message with the option named <paramref name="optionName"/> (e.g. a flag, <c>--max-new-tokens</c>).</summary>
    public string MessageNaming(string optionName) => Fill(_template, optionName);

    /// <summary>Fills the first placeholder only: a value quoted later in the message may itself contain the text "{option}".</summary>
    private static string Fill(string template, string optionName)
    {
        ArgumentNullException.ThrowIfNull(template);
        int at = template.IndexOf(OptionPlaceholder, StringComparison.Ordinal);
        return at < 0 ? template : string.Concat(template.AsSpan(0, at), optionName, template.AsSpan(at + OptionPlaceholder.Length));
    }
}
