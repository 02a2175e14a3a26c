using System.Text.Json;

namespace Sdar.Evaluation.IfEval;

/// <summary>One IFEval instruction, built from its kwargs: does a response follow it? (instructions.py check_following)</summary>
public interface IInstructionChecker
{
    bool IsFollowed(string response);
}

/// <summary>
/// An instruction's kwargs, read the way the official <c>build_description</c> reads them. Where the official code
/// would draw a missing or out-of-range value at random, scoring cannot be reproduced, so that is an error naming
/// the item, the instruction and the argument.
/// </summary>
public sealed class InstructionArguments(JsonElement kwargs, string where)
{
    public string Where { get; } = where;

    private JsonElement? Value(string name) =>
        kwargs.ValueKind == JsonValueKind.Object && kwargs.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public BenchmarkDataException Missing(string name, string expected) =>
        new($"{Where}: kwargs \"{name}\" must be {expected} (the official checker would draw one at random, which cannot be scored reproducibly)");

    public string? OptionalString(string name) => Value(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString()!,
        var v => throw new BenchmarkDataException($"{Where}: kwargs \"{name}\" must be a string, found {JsonFields.Kind(v.Value)}"),
    };

    /// <summary>A string the official code would replace by a random one when it is empty or absent.</summary>
    public string RequiredString(string name) => OptionalString(name) is { Length: > 0 } s ? s : throw Missing(name, "a non-empty string");

    public int? OptionalInteger(string name) => Value(name) is { } v ? JsonFields.Integer(v, name, Where) : null;

    /// <summary>A count the official code would replace by a random one when it is absent or negative.</summary>
    public int Count(string name) => OptionalInteger(name) is { } n and >= 0 ? n : throw Missing(name, "a whole number of at least 0");

    public IReadOnlyList<string> Strings(string name) =>
        Value(name) is { } v && JsonFields.StringArray(v, name, Where) is { Count: > 0 } list ? list : throw Missing(name, "a non-empty list of strings");

    /// <summary>"less than" or "at least" (_COMPARISON_RELATION); anything else is a ValueError in the official code.</summary>
    public Relation Relation(string name) => OptionalString(name) switch
    {
        "less than" => IfEval.Relation.LessThan,
        "at least" => IfEval.Relation.AtLeast,
        null => throw Missing(name, "\"less than\" or \"at least\""),
        var other => throw new BenchmarkDataException($"{Where}: kwargs \"{name}\" must be \"less than\" or \"at least\", found \"{other}\""),
    };
}

public enum Relation { LessThan, AtLeast }

internal static class RelationExtensions
{
    public static bool Holds(this Relation relation, int actual, int threshold) =>
        relation == Relation.LessThan ? actual < threshold : actual >= threshold;
}
