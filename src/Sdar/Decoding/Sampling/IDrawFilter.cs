namespace Sdar.Decoding;

/// <summary>
/// A truncating filter (top-k, top-p, min-p): narrows which tokens the draw may pick. It never touches p0 or
/// the entropy, which come from the unfiltered distribution (DESIGN section 4), and never removes the most
/// likely token, so a draw always has a candidate.
/// </summary>
internal interface IDrawFilter
{
    /// <param name="logits">The row the weights were computed from (after bias and penalties).</param>
    void Apply(ReadOnlySpan<float> logits, DrawCandidates candidates);
}
