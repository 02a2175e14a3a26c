using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Sdar.Cli.Commands;

/// <summary>Shared option builders and validators, so every flag's error names the flag.</summary>
internal static class CliParsing
{
    public static Option<string> ModelOption(bool required = true) => new("--model", "-m")
    {
        Description = "Model folder in HuggingFace layout (config.json, model.safetensors or shards, tokenizer.json).",
        Required = required,
        HelpName = "DIR",
    };

    /// <summary>A comma-separated list of integers, e.g. "1,4,16"; errors name the flag.</summary>
    public static Option<int[]> IntListOption(string name, string description, string helpName, int minimum, int[]? defaults = null)
    {
        var option = new Option<int[]>(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result => ParseIntList(result, name, minimum),
        };
        if (defaults is not null) option.DefaultValueFactory = _ => defaults;
        return option;
    }

    private static int[] ParseIntList(ArgumentResult result, string name, int minimum)
    {
        var text = string.Join(",", result.Tokens.Select(t => t.Value));
        var values = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0) continue;
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            {
                result.AddError($"{name}: '{part}' is not an integer; expected a comma-separated list such as 1,2,3");
                return [];
            }
            if (value < minimum)
            {
                result.AddError($"{name}: every value must be at least {minimum}; got {value}");
                return [];
            }
            values.Add(value);
        }
        if (values.Count == 0) result.AddError($"{name}: expected at least one integer, e.g. 1,2,3");
        return values.ToArray();
    }

    public static void AtLeast(this Option<int> option, int minimum) =>
        option.Validators.Add(r =>
        {
            int value = r.GetValueOrDefault<int>();
            if (value < minimum) r.AddError($"{option.Name} must be at least {minimum}; got {value}");
        });

    public static void AtLeast(this Option<int?> option, int minimum) =>
        option.Validators.Add(r =>
        {
            int? value = r.GetValueOrDefault<int?>();
            if (value is { } v && v < minimum) r.AddError($"{option.Name} must be at least {minimum}; got {v}");
        });

    public static void InRange(this Option<double?> option, double low, double high, bool lowExclusive) =>
        option.Validators.Add(r =>
        {
            double? value = r.GetValueOrDefault<double?>();
            if (value is not { } v) return;
            bool ok = double.IsFinite(v) && (lowExclusive ? v > low : v >= low) && v <= high;
            if (!ok) r.AddError($"{option.Name} must be in {(lowExclusive ? "(" : "[")}{low.ToString(CultureInfo.InvariantCulture)}, {high.ToString(CultureInfo.InvariantCulture)}]; got {v.ToString(CultureInfo.InvariantCulture)}");
        });
}
