namespace Sdar.Decoding;

/// <summary>
/// A stage that rewrites one row of logits before the softmax: the logit bias and the penalties. It works on
/// the sampler's scratch copy of the row, never on the model's output.
/// </summary>
internal interface ILogitStage
{
    void Apply(Span<float> logits);
}
