namespace Sdar.Decoding;

/// <summary>
/// OpenAI's presence and frequency penalties (as llama.cpp applies them): a token that occurs c > 0 times in the
/// window loses <c>c * frequency + presence</c> from its logit.
/// </summary>
internal sealed class PresenceAndFrequencyPenaltyStage : ILogitStage
{
    private readonly double _presence, _frequency;
    private readonly PenaltyWindow _window;

    public PresenceAndFrequencyPenaltyStage(double presence, double frequency, PenaltyWindow window)
    {
        if (!double.IsFinite(presence)) throw new ArgumentOutOfRangeException(nameof(presence), presence, "presence_penalty must be finite");
        if (!double.IsFinite(frequency)) throw new ArgumentOutOfRangeException(nameof(frequency), frequency, "frequency_penalty must be finite");
        _presence = presence;
        _frequency = frequency;
        _window = window ?? throw new ArgumentNullException(nameof(window));
    }

    public void Apply(Span<float> logits)
    {
        foreach (var (token, count) in _window.Counts)
            logits[token] -= (float)(count * _frequency + _presence);
    }
}
