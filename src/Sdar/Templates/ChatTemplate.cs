using System.Collections;
using System.Text.Json;

namespace Sdar.Templates;

/// <summary>
/// A parsed HuggingFace chat template (the Jinja subset they use), rendered the way transformers renders it:
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> on, loop controls, Python value semantics, <c>tojson</c> as
/// json.dumps(ensure_ascii=False). Parse once, render many times; rendering is thread-safe.
/// </summary>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Stmt> _body;

    private ChatTemplate(string source, IReadOnlyList<Stmt> body)
    {
        Source = source;
        _body = body;
    }

    public string Source { get; }

    /// <summary>Parses <paramref name="source"/>; a syntax error throws a <see cref="TemplateException"/> naming the line.</summary>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, Parser.ParseTemplate(source));
    }

    /// <summary>
    /// Renders with the given variables. Values may be null, string, bool, integers, floating-point numbers,
    /// lists (any non-string IEnumerable) and string-keyed dictionaries, nested; an unsupported type throws an
    /// ArgumentException naming the variable. Runtime errors throw a <see cref="TemplateException"/>.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var normalized = new Dictionary<string, object?>();
        foreach (var (name, value) in variables) normalized[name] = Normalize(value, name);
        return new Interpreter(normalized).Render(_body);
    }

    /// <summary>
    /// Renders a conversation with the variables transformers' apply_chat_template passes: messages,
    /// add_generation_prompt, bos_token, eos_token, tools and documents (none unless given), and
    /// enable_thinking only when not null (null leaves it undefined, which templates treat as their default).
    /// </summary>
    public string RenderChat(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, bool addGenerationPrompt, bool? enableThinking = null,
        string bosToken = "", string eosToken = "", IReadOnlyList<object?>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bosToken,
            ["eos_token"] = eosToken,
            ["tools"] = tools,
            ["documents"] = null,
        };
        if (enableThinking is bool thinking) variables["enable_thinking"] = thinking;
        return Render(variables);
    }

    /// <summary>Converts a caller's value to the engine's value types (long, double, List, Dictionary), deeply.</summary>
    private static object? Normalize(object? value, string path) => value switch
    {
        null or string or bool or long or double => value,
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        ulong u when u <= long.MaxValue => (long)u,
        float f => (double)f,
        decimal m => (double)m,
        char c => c.ToString(),
        JsonElement e => Normalize(ChatMessages.FromJsonElement(e, path), path),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value, $"{path}.{kv.Key}")),
        IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value, $"{path}.{kv.Key}")),
        IEnumerable items => items.Cast<object?>().Select((x, i) => Normalize(x, $"{path}[{i}]")).ToList(),
        _ => throw new ArgumentException(
            $"template variable '{path}' has type {value.GetType().Name}; use null, string, bool, a number, a list or a string-keyed dictionary",
            nameof(value)),
    };
}
