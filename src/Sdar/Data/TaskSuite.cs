using System.Text;
using Sdar.Data.Families;

namespace Sdar.Data;

/// <summary>
/// The synthetic reasoning suite: GSM8K-style word problems (most of the mix) plus worked multi-digit arithmetic,
/// sorting, unit conversion and number sequences. Everything is drawn from one seeded <see cref="Random"/>, so a
/// seed always gives the same items.
/// </summary>
public static class TaskSuite
{
    /// <summary>The families and their share of the mix (shares sum to 1).</summary>
    public static IReadOnlyList<(ITaskFamily Family, double Weight)> Mix { get; } = BuildMix();

    private static List<(ITaskFamily, double)> BuildMix()
    {
        var mix = new List<(ITaskFamily, double)>();
        void Add(IReadOnlyList<ITaskFamily> group, double share) =>
            mix.AddRange(group.Select(f => (f, share / group.Count)));
        Add(WordProblems.All, 0.60);
        Add(Arithmetic.All, 0.15);
        Add([Units.Family], 0.10);
        Add([Sequences.Family], 0.08);
        Add([Sorting.Family], 0.07);
        return mix;
    }

    /// <summary>The first <paramref name="count"/> items of <see cref="Stream"/>: all questions different.</summary>
    public static IReadOnlyList<TaskItem> Generate(int seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return [.. Stream(seed).Take(count)];
    }

    /// <summary>
    /// An endless sequence of items whose questions are all different (by <see cref="NormaliseQuestion"/>).
    /// Throws if the families cannot produce new questions any more (a sign the request is far too large).
    /// </summary>
    public static IEnumerable<TaskItem> Stream(int seed)
    {
        var rng = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int repeatsInARow = 0;
        while (true)
        {
            var item = Draw(rng);
            if (!seen.Add(NormaliseQuestion(item.Question)))
            {
                if (++repeatsInARow > 100_000)
                    throw new InvalidOperationException($"the task families ran out of new questions after {seen.Count} items");
                continue;
            }

            repeatsInARow = 0;
            yield return item;
        }
    }

    /// <summary>One item from a family picked by its weight (repeats possible).</summary>
    public static TaskItem Draw(Random rng)
    {
        double u = rng.NextDouble();
        foreach (var (family, weight) in Mix)
        {
            if (u < weight)
                return family.Generate(rng);
            u -= weight;
        }

        return Mix[^1].Family.Generate(rng);
    }

    /// <summary>The key that decides whether two questions are the same: lower case, whitespace collapsed.</summary>
    public static string NormaliseQuestion(string question)
    {
        var key = new StringBuilder(question.Length);
        bool space = false;
        foreach (char c in question.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
                key.Append(' ');
            space = false;
            key.Append(char.ToLowerInvariant(c));
        }

        return key.ToString();
    }
}
