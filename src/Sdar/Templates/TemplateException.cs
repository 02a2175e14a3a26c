namespace Sdar.Templates;

/// <summary>
/// A chat template could not be parsed or rendered, or hit one of its <see cref="TemplateLimits"/>. The message
/// reads <c>&lt;template name&gt;: line 3: &lt;what went wrong&gt;</c>: <see cref="TemplateName"/> says which
/// template (for example "…/tokenizer_config.json chat_template"; absent when none was given), <see cref="Line"/>
/// is the 1-based template line (0 when it is not tied to a line) and <see cref="Detail"/> is the rest.
/// </summary>
public sealed class TemplateException : SdarException
{
    public TemplateException(string message, int line) : this(null, message, line, null) { }

    public TemplateException(string message) : this(null, message, 0, null) { }

    public TemplateException(string message, Exception inner) : this(null, message, 0, inner) { }

    public TemplateException() : this(null, "the template failed", 0, null) { }

    private TemplateException(string? templateName, string detail, int line, Exception? inner)
        : base(Format(templateName, detail, line), inner!)
    {
        TemplateName = templateName;
        Detail = detail;
        Line = line;
    }

    public string? TemplateName { get; }

    public string Detail { get; }

    public int Line { get; }

    /// <summary>The same error, said to come from the template named <paramref name="templateName"/>.</summary>
    internal TemplateException InTemplate(string? templateName) =>
        templateName is null || TemplateName is not null ? this : new TemplateException(templateName, Detail, Line, this);

    /// <summary>One line, whatever the detail quotes (raise_exception text, a stray control character).</summary>
    private static string Format(string? templateName, string detail, int line)
    {
        string located = line > 0 ? $"line {line}: {OneLine(detail)}" : OneLine(detail);
        return templateName is null ? located : $"{templateName}: {located}";
    }

    private static string OneLine(string text)
    {
        // Details quote template values (an undefined key, raise_exception's text), which can be megabytes.
        if (text.Length > 1000) text = text[..1000] + "...";
        if (!text.Any(char.IsControl)) return text;
        var sb = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
            sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when char.IsControl(c) => $"\\x{(int)c:x2}", _ => c.ToString() });
        return sb.ToString();
    }
}
