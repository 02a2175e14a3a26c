namespace Sdar.Data;

/// <summary>Chat templates the project writes into the tokenizers it trains.</summary>
public static class ChatTemplates
{
    private static readonly Lazy<string> Qwen3Source = new(() => Read("Sdar.Data.qwen3.jinja"));

    /// <summary>Qwen3's chat template (from its tokenizer_config.json), byte for byte.</summary>
    public static string Qwen3 => Qwen3Source.Value;

    /// <summary>
    /// The line that makes thinking off the default: models trained here never saw a thinking trace, and with
    /// enable_thinking undefined Qwen3's template leaves the empty <c>&lt;think&gt;</c> block out, so the model
    /// starts its answer on a prompt it was not trained on. An explicit enable_thinking still wins.
    /// </summary>
    public const string ThinkingOffByDefault = "{%- if enable_thinking is not defined %}{%- set enable_thinking = false %}{%- endif %}\n";

    /// <summary>Qwen3's template with thinking off unless asked for: what the tokenizers trained here carry.</summary>
    public static string Qwen3ThinkingOffByDefault => ThinkingOffByDefault + Qwen3;

    private static string Read(string name)
    {
        using var stream = typeof(ChatTemplates).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the Sdar assembly");
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
