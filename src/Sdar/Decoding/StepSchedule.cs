namespace Sdar.Decoding;

/// <summary>How many positions each denoising step of a block commits (official <c>get_num_transfer_tokens</c>).</summary>
public static class StepSchedule
{
    /// <summary>n_step[s] = B / S, plus 1 for the first (B mod S) steps, so the S steps fill exactly B positions.</summary>
    public static int[] Build(int blockLength, int steps)
    {
        if (blockLength < 1) throw new ArgumentOutOfRangeException(nameof(blockLength), blockLength, "block length must be at least 1");
        if (steps < 1 || steps > blockLength)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"denoising steps must be between 1 and the block length {blockLength}");
        var schedule = new int[steps];
        for (int s = 0; s < steps; s++)
            schedule[s] = blockLength / steps + (s < blockLength % steps ? 1 : 0);
        return schedule;
    }
}
