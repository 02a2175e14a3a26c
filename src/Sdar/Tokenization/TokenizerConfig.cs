using System.Text.Json;

namespace Sdar.Tokenization;

/// <summary>What transformers keeps beside tokenizer.json: the chat template and the names of the special tokens.</summary>
internal sealed record TokenizerConfig(string? ChatTemplate, string? EosToken, string? PadToken, string? BosToken)
{
    public static readonly TokenizerConfig Empty = new(null, null, null, null);

    /// <summary>Where <see cref="ChatTemplate"/> was read ("…/tokenizer_config.json chat_template" or "…/chat_template.jinja").</summary>
    public string? ChatTemplateOrigin { get; init; }

    /// <summary>
    /// Reads <c>tokenizer_config.json</c> in <paramref name="folder"/> when present; a <c>chat_template.jinja</c>
    /// there replaces its chat template, as in transformers.
    /// </summary>
    public static TokenizerConfig ReadFolder(string folder)
    {
        string configPath = Path.Combine(folder, "tokenizer_config.json");
        TokenizerConfig config = File.Exists(configPath) ? Read(configPath) : Empty;
        string jinjaPath = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinjaPath))
            config = config with { ChatTemplate = ReadJinja(jinjaPath), ChatTemplateOrigin = jinjaPath };
        return config;
    }

    /// <summary>The template file as strict UTF-8: a template with invalid bytes would render them as U+FFFD.</summary>
    private static string ReadJinja(string path)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new CheckpointException($"Chat template '{path}' is not valid UTF-8: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"Chat template '{path}' could not be read: {e.Message}");
        }
    }

    public static TokenizerConfig Read(string path)
    {
        using JsonDocument doc = JsonFields.ParseFile(path, "Tokenizer config");
        var f = new JsonFields(path);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"Tokenizer config '{path}' must hold a JSON object, not {JsonFields.Describe(root)}.");
        string? template = ReadChatTemplate(f, root);
        return new TokenizerConfig(
            template,
            ReadTokenName(f, root, "eos_token"),
            ReadTokenName(f, root, "pad_token"),
            ReadTokenName(f, root, "bos_token"))
        {
            ChatTemplateOrigin = template is null ? null : $"{path} chat_template",
        };
    }

    /// <summary>A string, or transformers' list of named templates, of which the one named "default" is taken.</summary>
    private static string? ReadChatTemplate(JsonFields f, JsonElement root)
    {
        if (JsonFields.Optional(root, "chat_template") is not { } template)
            return null;
        if (template.ValueKind == JsonValueKind.String)
            return template.GetString();
        if (template.ValueKind != JsonValueKind.Array)
            throw f.Error("chat_template", "must be a string or a list of {\"name\", \"template\"}", template);
        int i = 0;
        string? chosen = null;
        foreach (JsonElement named in template.EnumerateArray())
        {
            string at = $"chat_template[{i++}]";
            if (named.ValueKind != JsonValueKind.Object)
                throw f.Error(at, "must be an object {\"name\", \"template\"}", named);
            string name = f.RequiredString(named, "name", at + ".name");
            string text = f.RequiredString(named, "template", at + ".template");
            if (name == "default")
                chosen = text;
        }
        return chosen;
    }

    /// <summary>A token given as a string, or as an AddedToken object whose "content" is the string.</summary>
    private static string? ReadTokenName(JsonFields f, JsonElement root, string name)
    {
        if (JsonFields.Optional(root, name) is not { } token)
            return null;
        return token.ValueKind switch
        {
            JsonValueKind.String => token.GetString(),
            JsonValueKind.Object => f.RequiredString(token, "content", name + ".content"),
            _ => throw f.Error(name, "must be a string, an object with \"content\", or null", token),
        };
    }
}
