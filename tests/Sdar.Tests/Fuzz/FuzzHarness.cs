using System.Diagnostics;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Runs mutants and collects the ones that broke the rule: each must succeed or fail with the project's own
/// <see cref="SdarException"/>, quickly and with bounded memory. The report names the seed and mutant index.
/// </summary>
internal sealed class FuzzHarness(string kind, int seed)
{
    private readonly List<string> _failures = [];

    public TimeSpan MaxTimePerMutant { get; init; } = TimeSpan.FromSeconds(3);
    public long MaxAllocatedBytesPerMutant { get; init; } = 1L << 30;

    /// <summary>What every refusal's message must name (the file or template), so errors stay actionable.</summary>
    public string? MessageMustName { get; init; }

    private readonly SortedSet<string> _sampleMessages = new(StringComparer.Ordinal);

    public int Mutants { get; private set; }
    public int Accepted { get; private set; }
    public int Refused { get; private set; }

    public void Run(int index, string mutation, Action attempt)
    {
        Mutants++;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            attempt();
            Accepted++;
        }
        catch (SdarException e)
        {
            Refused++;
            if (e.Message.Contains('\n', StringComparison.Ordinal) || e.Message.Contains('\r', StringComparison.Ordinal))
                _failures.Add($"{kind} seed {seed} mutant {index} ({mutation}): the message is not one line: {e.Message}");
            if (MessageMustName is { } name && !e.Message.Contains(name, StringComparison.Ordinal))
                _failures.Add($"{kind} seed {seed} mutant {index} ({mutation}): the message does not name '{name}': {e.Message}");
            if (_sampleMessages.Count < 400) _sampleMessages.Add(e.Message.Length > 160 ? e.Message[..160] + "..." : e.Message);
        }
        catch (Exception e)
        {
            _failures.Add($"{kind} seed {seed} mutant {index} ({mutation}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (clock.Elapsed > MaxTimePerMutant)
            _failures.Add($"{kind} seed {seed} mutant {index} ({mutation}): took {clock.Elapsed.TotalSeconds:F1} s");
        if (allocated > MaxAllocatedBytesPerMutant)
            _failures.Add($"{kind} seed {seed} mutant {index} ({mutation}): allocated {allocated:N0} bytes");
    }

    /// <summary>Fails the test with the first few broken mutants, each reproducible from its seed and index.</summary>
    public void AssertNoFailures()
    {
        Assert.True(_failures.Count == 0,
            $"{_failures.Count} of {Mutants} {kind} mutants broke the rule:\n" + string.Join("\n\n", _failures.Take(5)));
        Assert.True(Accepted + Refused == Mutants);
    }

    public override string ToString() =>
        $"{kind}: {Mutants} mutants, {Accepted} accepted, {Refused} refused with an SdarException; some messages:\n  "
        + string.Join("\n  ", _sampleMessages.Where((_, i) => i % Math.Max(1, _sampleMessages.Count / 8) == 0));
}
