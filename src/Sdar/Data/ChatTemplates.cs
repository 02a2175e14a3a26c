namespace Sdar.Data;

/// <summary>Chat templates the project writes into the tokenizers it trains.</summary>
public static class ChatTemplates
{
    private static readonly Lazy<string> Qwen3Source = new(() => Read("Sdar.Data.qwen3.jinja"));

    /// <summary>Qwen3's chat template (from its tokenizer_config.json), byte for byte.</summary>
    public static string Qwen3 => Qwen3Source.Value;

    private static string Read(string name)
    {
        using var stream = typeof(ChatTemplates).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the Sdar assembly");
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
