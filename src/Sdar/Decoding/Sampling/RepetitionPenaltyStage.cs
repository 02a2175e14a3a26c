namespace Sdar.Decoding;

/// <summary>
/// CTRL's repetition penalty (Keskar et al. 2019) as HF <c>RepetitionPenaltyLogitsProcessor</c> and llama.cpp
/// apply it: every token in the window, however often, has its logit divided by the penalty when positive and
/// multiplied by it otherwise, so a penalty above 1 always makes a repeat less likely.
/// </summary>
internal sealed class RepetitionPenaltyStage : ILogitStage
{
    private readonly float _penalty;
    private readonly PenaltyWindow _window;

    public RepetitionPenaltyStage(double penalty, PenaltyWindow window)
    {
        if (!(penalty > 0) || !double.IsFinite(penalty))
            throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "repetition_penalty must be a finite number > 0");
        _penalty = (float)penalty;
        _window = window ?? throw new ArgumentNullException(nameof(window));
    }

    public void Apply(Span<float> logits)
    {
        foreach (int token in _window.Counts.Keys)
        {
            float logit = logits[token];
            logits[token] = logit > 0 ? logit / _penalty : logit * _penalty;
        }
    }
}
