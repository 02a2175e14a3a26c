namespace Sdar.Decoding;

/// <summary>
/// The logits half of the chain: copies the row into scratch, runs the logit stages (bias, then penalties) on
/// the copy, and hands it to the draw (greedy or tempered). So p0 and the entropy are those of the biased and
/// penalized distribution, as the draw sees it. Keeps the penalty window: every accepted token enters it.
/// </summary>
internal sealed class AdjustedLogitsSampler : ITokenSampler
{
    private readonly ILogitStage[] _stages;
    private readonly PenaltyWindow _window;
    private readonly ITokenSampler _draw;
    private float[] _scratch = [];

    public AdjustedLogitsSampler(IEnumerable<ILogitStage> stages, PenaltyWindow window, ITokenSampler draw)
    {
        _stages = [.. stages ?? throw new ArgumentNullException(nameof(stages))];
        _window = window ?? throw new ArgumentNullException(nameof(window));
        _draw = draw ?? throw new ArgumentNullException(nameof(draw));
    }

    public SampledToken Sample(ReadOnlySpan<float> logits, bool withEntropy)
    {
        if (_scratch.Length != logits.Length) _scratch = new float[logits.Length];
        var adjusted = _scratch.AsSpan();
        logits.CopyTo(adjusted);
        foreach (var stage in _stages) stage.Apply(adjusted);
        return _draw.Sample(adjusted, withEntropy);
    }

    public void Accept(int tokenId)
    {
        _window.Add(tokenId);
        _draw.Accept(tokenId);
    }
}
