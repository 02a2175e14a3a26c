namespace Sdar.Config;

/// <summary>
/// The decoding defaults of <c>generation_config.json</c> (DESIGN section 5): stop ids, padding, and sampling
/// defaults when the checkpoint gives them. Every field is optional; a checkpoint without the file gets
/// <see cref="Empty"/>.
/// </summary>
public sealed record GenerationConfig
{
    public static GenerationConfig Empty { get; } = new();

    /// <summary>The ids that end generation (<c>eos_token_id</c>, an int or a list; SDAR chat: [151645, 151643]).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public bool? DoSample { get; init; }
    public double? Temperature { get; init; }
    public int? TopK { get; init; }
    public double? TopP { get; init; }
    public int? MaxNewTokens { get; init; }
    /// <summary>HF's cap on prompt + answer; checked for range, not used for decoding.</summary>
    public int? MaxLength { get; init; }
}
