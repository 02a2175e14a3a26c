using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Sdar.Cli.Commands;

/// <summary>
/// Typed, range-checked flags. System.CommandLine's own conversions fail with a type name ("as expected type
/// 'System.Int32'") or, worse, throw from a validator; every flag here parses its text itself and fails with one line
/// that names the flag, the expected range and the value given: "--max-new-tokens: expected an integer from 1 to
/// 16777216; got 'abc'".
/// </summary>
internal static class CliParsing
{
    /// <summary>The largest token count any flag accepts; the model's context (checked later) is usually far below.</summary>
    public const int MaxTokens = 1 << 24;

    public static Option<string> ModelOption(bool required = true) => new("--model", "-m")
    {
        Description = "Model folder in HuggingFace layout (config.json, model.safetensors or shards, tokenizer.json), or a HuggingFace cache folder (models--Org--Name).",
        Required = required,
        HelpName = "DIR",
    };

    /// <summary>
    /// A check across flags ("give exactly one of ..."), made when the verb starts rather than as a command
    /// validator: System.CommandLine skips the flags' own checks once a command validator fails, so the error that
    /// names a bad value would be lost.
    /// </summary>
    public static void Require(bool condition, string problem)
    {
        if (!condition) throw new ArgumentException(problem);
    }

    /// <summary>Whether the user typed <paramref name="option"/> (a default value does not count).</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>A comma-separated list of integers, e.g. "1,4,16"; errors name the flag.</summary>
    /// <summary>The values of a list flag, given comma-separated, repeated, or both ("a,b" "--flag c"); blanks dropped.</summary>
    public static string[] CommaSeparated(System.CommandLine.Parsing.ArgumentResult result) =>
        [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    public static Option<int[]> IntListOption(string name, string description, string helpName, int minimum, int[]? defaults = null, int maximum = int.MaxValue)
    {
        var option = new Option<int[]>(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result => ParseIntList(result, name, minimum, maximum),
        };
        if (defaults is not null) option.DefaultValueFactory = _ => defaults;
        return option;
    }

    private static int[] ParseIntList(ArgumentResult result, string name, int minimum, int maximum)
    {
        var text = string.Join(",", result.Tokens.Select(t => t.Value));
        var values = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0) continue;
            if (!TryParseInteger(part, minimum, maximum, out long value))
            {
                result.AddError($"{name}: expected a comma-separated list of integers from {Show(minimum)} to {Show(maximum)}, such as 1,2,3; got '{part}'");
                return [];
            }
            values.Add((int)value);
        }
        if (values.Count == 0) result.AddError($"{name}: expected at least one integer, such as 1,2,3; got '{text}'");
        return values.ToArray();
    }

    /// <summary>A flag whose value must be one of <paramref name="names"/> (case-insensitive); the error names the flag.</summary>
    public static Option<T> OneOfNames<T>(this Option<T> option, IReadOnlyList<string> names)
    {
        option.CompletionSources.Add([.. names]);
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (!names.Contains(token.Value, StringComparer.OrdinalIgnoreCase))
                    result.AddError($"{option.Name}: '{token.Value}' is not one of {string.Join(", ", names)}");
        });
        return option;
    }

    /// <summary>An integer flag in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Option<int> Integer(this Option<int> option, int minimum, int maximum = int.MaxValue)
    {
        option.CustomParser = result => (int)ParseInteger(result, option.Name, minimum, maximum);
        return option;
    }

    /// <summary>An optional integer flag in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Option<int?> Integer(this Option<int?> option, int minimum, int maximum = int.MaxValue)
    {
        option.CustomParser = result => (int)ParseInteger(result, option.Name, minimum, maximum);
        return option;
    }

    /// <summary>A 64-bit integer flag in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Option<long> Integer(this Option<long> option, long minimum, long maximum = long.MaxValue)
    {
        option.CustomParser = result => ParseInteger(result, option.Name, minimum, maximum);
        return option;
    }

    /// <summary>An optional 64-bit integer flag in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Option<long?> Integer(this Option<long?> option, long minimum, long maximum = long.MaxValue)
    {
        option.CustomParser = result => ParseInteger(result, option.Name, minimum, maximum);
        return option;
    }

    /// <summary>A finite real flag between <paramref name="low"/> and <paramref name="high"/>; each end inclusive unless said.</summary>
    public static Option<double> Real(this Option<double> option, double low, double high, bool lowExclusive = false, bool highExclusive = false)
    {
        var range = new RealRange(low, high, lowExclusive, highExclusive);
        option.CustomParser = result => ParseReal(result, option.Name, range);
        return option;
    }

    /// <summary>An optional finite real flag between <paramref name="low"/> and <paramref name="high"/>.</summary>
    public static Option<double?> Real(this Option<double?> option, double low, double high, bool lowExclusive = false, bool highExclusive = false)
    {
        var range = new RealRange(low, high, lowExclusive, highExclusive);
        option.CustomParser = result => ParseReal(result, option.Name, range);
        return option;
    }

    /// <summary>An enum flag, matched case-insensitively; an unknown name lists the accepted ones on the same line.</summary>
    public static Option<T> OneOf<T>(this Option<T> option) where T : struct, Enum
    {
        option.CustomParser = result =>
        {
            string text = SingleToken(result);
            if (Enum.TryParse(text, ignoreCase: true, out T value) && Enum.IsDefined(value) && !char.IsAsciiDigit(text.TrimStart('-').FirstOrDefault()))
                return value;
            result.AddError($"{option.Name}: expected one of {string.Join(", ", Enum.GetNames<T>())}; got '{text}'");
            return default;
        };
        return option;
    }

    /// <summary>
    /// A flag that takes true or false as its value (<c>--enable-thinking false</c>), read with
    /// <see cref="GetBoolean"/>. It is a string option because System.CommandLine leaves a word after a boolean flag
    /// unconsumed when it is not a boolean, and then reports a stray argument instead of naming the flag.
    /// </summary>
    public static Option<string?> BooleanOption(string name, string description, bool? defaultValue = null)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = "BOOL", Arity = ArgumentArity.ExactlyOne };
        if (defaultValue is { } d) option.DefaultValueFactory = _ => d ? "true" : "false";
        option.Validators.Add(result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (result.Tokens.Count > 0 && !bool.TryParse(text, out _)) result.AddError($"{name}: expected true or false; got '{text}'");
        });
        return option;
    }

    /// <summary>The value of a <see cref="BooleanOption"/>: null when neither given nor defaulted.</summary>
    public static bool? GetBoolean(this ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } text ? bool.Parse(text) : null;

    private static long ParseInteger(ArgumentResult result, string name, long minimum, long maximum)
    {
        string text = SingleToken(result);
        if (TryParseInteger(text, minimum, maximum, out long value)) return value;
        result.AddError($"{name}: expected an integer from {Show(minimum)} to {Show(maximum)}; got '{text}'");
        return minimum;
    }

    private static bool TryParseInteger(string text, long minimum, long maximum, out long value) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= minimum && value <= maximum;

    private readonly record struct RealRange(double Low, double High, bool LowExclusive, bool HighExclusive)
    {
        public bool Contains(double v) => double.IsFinite(v) && (LowExclusive ? v > Low : v >= Low) && (HighExclusive ? v < High : v <= High);

        public override string ToString() => High == double.MaxValue
            ? $"a number {(LowExclusive ? "above" : "of at least")} {Show(Low)}"
            : $"a number in {(LowExclusive ? "(" : "[")}{Show(Low)}, {Show(High)}{(HighExclusive ? ")" : "]")}";
    }

    private static double ParseReal(ArgumentResult result, string name, RealRange range)
    {
        string text = SingleToken(result);
        if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out double value) && range.Contains(value))
            return value;
        result.AddError($"{name}: expected {range}; got '{text}'");
        return range.Low;
    }

    /// <summary>The flag's one value; System.CommandLine enforces the arity before a custom parser runs.</summary>
    private static string SingleToken(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
