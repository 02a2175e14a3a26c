namespace Sdar.Model;

/// <summary>
/// The short names users give weight formats on the command line: <c>bf16</c>, <c>q8</c> (or <c>q8_0</c>) and
/// <c>q4</c> (or <c>q4_0</c>), case-insensitive.
/// </summary>
public static class WeightFormatNames
{
    /// <summary>The format <paramref name="text"/> names, else an error naming <paramref name="flag"/> and the accepted names.</summary>
    public static DType Parse(string text, string flag) => text.ToLowerInvariant() switch
    {
        "bf16" => DType.BF16,
        "q8" or "q8_0" => DType.Q8_0,
        "q4" or "q4_0" => DType.Q4_0,
        _ => throw new ArgumentException($"{flag}: expected bf16, q8 or q4; got '{text}'"),
    };

    /// <summary>The short name of <paramref name="format"/>: "bf16", "q8", "q4", else the dtype's own name in lower case.</summary>
    public static string Name(DType format) => format switch
    {
        DType.Q8_0 => "q8",
        DType.Q4_0 => "q4",
        _ => format.ToString().ToLowerInvariant(),
    };
}
