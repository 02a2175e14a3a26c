using Sdar.Decoding;

namespace Sdar.Tests.Decoding.Sampling;

/// <summary>The logits stages one by one: bias, repetition penalty, presence and frequency penalties, the window.</summary>
public class LogitStageTests
{
    private static PenaltyWindow Window(int lastN, params int[] tokens)
    {
        var window = new PenaltyWindow(lastN);
        window.AddRange(tokens);
        return window;
    }

    [Fact]
    public void Logit_bias_adds_to_the_chosen_ids_only()
    {
        float[] logits = [0f, 0.5f, -1f, 2f];
        new LogitBiasStage(new Dictionary<int, double> { [1] = Math.Log(3), [3] = -100 }).Apply(logits);
        Assert.Equal([0f, 0.5f + (float)Math.Log(3), -1f, -98f], logits);
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens_once_each()
    {
        float[] logits = [2f, -1f, 0.5f, 3f, 0f];
        // Token 1 twice: the repetition penalty does not count occurrences. Token 4 has logit 0, which stays 0.
        new RepetitionPenaltyStage(2, Window(64, 0, 1, 1, 4)).Apply(logits);
        Assert.Equal([1f, -2f, 0.5f, 3f, 0f], logits);
    }

    [Fact]
    public void Presence_and_frequency_penalties_subtract_presence_once_and_frequency_per_occurrence()
    {
        float[] logits = [2f, -1f, 0.5f];
        new PresenceAndFrequencyPenaltyStage(presence: 0.5, frequency: 0.25, Window(64, 0, 1, 1, 1)).Apply(logits);
        // Token 0: 2 - (1 * 0.25 + 0.5); token 1: -1 - (3 * 0.25 + 0.5); token 2 unseen.
        Assert.Equal([1.25f, -2.25f, 0.5f], logits);
    }

    [Fact]
    public void Negative_presence_and_frequency_penalties_encourage_repeats()
    {
        float[] logits = [0f, 0f];
        new PresenceAndFrequencyPenaltyStage(presence: -1, frequency: -0.5, Window(64, 1, 1)).Apply(logits);
        Assert.Equal([0f, 2f], logits);
    }

    [Fact]
    public void Window_keeps_the_last_n_tokens_with_their_counts()
    {
        var window = Window(3, 5, 6, 5, 7);          // 5 leaves: [6, 5, 7]
        Assert.Equal(new Dictionary<int, int> { [6] = 1, [5] = 1, [7] = 1 }, window.Counts);
        window.Add(7);                                // 6 leaves: [5, 7, 7]
        Assert.Equal(new Dictionary<int, int> { [5] = 1, [7] = 2 }, window.Counts);
        window.Add(8);                                // 5 leaves: [7, 7, 8]
        Assert.Equal(new Dictionary<int, int> { [7] = 2, [8] = 1 }, window.Counts);
    }

    [Fact]
    public void Window_of_minus_one_keeps_every_token_and_zero_keeps_none()
    {
        var all = Window(-1, [.. Enumerable.Repeat(3, 1000), 4]);
        Assert.Equal(new Dictionary<int, int> { [3] = 1000, [4] = 1 }, all.Counts);
        var none = Window(0, 1, 2, 3);
        Assert.True(none.IsOff);
        Assert.Empty(none.Counts);
    }

    [Fact]
    public void A_long_prompt_only_leaves_its_last_n_tokens_in_the_window()
    {
        var window = Window(2, [.. Enumerable.Range(0, 10_000)]);
        Assert.Equal(new Dictionary<int, int> { [9998] = 1, [9999] = 1 }, window.Counts);
    }

    [Fact]
    public void Bad_stage_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PenaltyWindow(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepetitionPenaltyStage(0, new PenaltyWindow(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PresenceAndFrequencyPenaltyStage(double.NaN, 0, new PenaltyWindow(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PenaltyWindow(1).Add(-1));
    }
}
