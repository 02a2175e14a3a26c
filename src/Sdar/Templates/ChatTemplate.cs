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

    private ChatTemplate(string source, IReadOnlyList<Stmt> body, string? name, TemplateLimits limits)
    {
        Source = source;
        _body = body;
        Name = name;
        Limits = limits;
    }

    public string Source { get; }

    /// <summary>Where the template came from ("…/tokenizer_config.json chat_template"); every error message starts with it.</summary>
    public string? Name { get; }

    /// <summary>The limits every render of this template runs under (and that its parse ran under).</summary>
    public TemplateLimits Limits { get; }

    /// <summary>
    /// Parses <paramref name="source"/>; a syntax error throws a <see cref="TemplateException"/> naming the
    /// template (<paramref name="name"/>, when given) and the line. <paramref name="limits"/> (the defaults when
    /// null) bound the parse's nesting depth and every later render.
    /// </summary>
    public static ChatTemplate Parse(string source, string? name = null, TemplateLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        limits ??= TemplateLimits.Default;
        try
        {
            return new ChatTemplate(source, Parser.ParseTemplate(source, limits), name, limits);
        }
        catch (TemplateException e)
        {
            throw e.InTemplate(name);
        }
    }

    /// <summary>
    /// Renders with the given variables. Values may be null, string, bool, integers, floating-point numbers,
    /// lists (any non-string IEnumerable) and string-keyed dictionaries, nested; an unsupported type throws an
    /// ArgumentException naming the variable. Runtime errors throw a <see cref="TemplateException"/>.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, new RenderBudget(Limits));

    /// <summary>Renders under <paramref name="budget"/>, which afterwards tells what the render used.</summary>
    internal string Render(IReadOnlyDictionary<string, object?> variables, RenderBudget budget)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var normalized = new Dictionary<string, object?>();
        foreach (var (name, value) in variables) normalized[name] = Normalize(value, name);
        try
        {
            return new Interpreter(normalized, budget).Render(_body);
        }
        catch (TemplateException e)
        {
            throw e.InTemplate(Name);
        }
    }

    /// <summary>
    /// Renders a conversation with the variables transformers' apply_chat_template passes: messages,
    /// add_generation_prompt, bos_token, eos_token, tools and documents (none unless given), and
    /// enable_thinking only when not null (null leaves it undefined, which templates treat as their default).
    /// </summary>
    public string RenderChat(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, bool addGenerationPrompt, bool? enableThinking = null,
        string bosToken = "", string eosToken = "", IReadOnlyList<object?>? tools = null) =>
        Render(ChatVariables(messages, addGenerationPrompt, enableThinking, bosToken, eosToken, tools));

    internal static Dictionary<string, object?> ChatVariables(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, bool addGenerationPrompt,
        bool? enableThinking = null, string bosToken = "", string eosToken = "", IReadOnlyList<object?>? tools = null)
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
        return variables;
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
