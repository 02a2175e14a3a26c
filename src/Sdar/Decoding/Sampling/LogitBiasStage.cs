namespace Sdar.Decoding;

/// <summary>OpenAI <c>logit_bias</c>: adds a fixed bias to the logits of chosen token ids.</summary>
internal sealed class LogitBiasStage : ILogitStage
{
    private readonly int[] _tokens;
    private readonly float[] _biases;

    public LogitBiasStage(IReadOnlyDictionary<int, double> bias)
    {
        ArgumentNullException.ThrowIfNull(bias);
        // Ascending ids: the row is then written front to back.
        var ordered = bias.OrderBy(pair => pair.Key).ToArray();
        _tokens = [.. ordered.Select(pair => pair.Key)];
        _biases = [.. ordered.Select(pair => (float)pair.Value)];
    }

    public void Apply(Span<float> logits)
    {
        for (int i = 0; i < _tokens.Length; i++) logits[_tokens[i]] += _biases[i];
    }
}
