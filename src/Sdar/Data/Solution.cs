using System.Globalization;
using System.Text;

namespace Sdar.Data;

/// <summary>
/// Builds a GSM8K-style answer: one short sentence per line, each with its computation written out
/// (<c>3 * 4 = 12</c>), then <c>#### N</c>.
/// </summary>
internal sealed class Solution
{
    private readonly StringBuilder _text = new();

    public Solution Step(string sentence)
    {
        _text.Append(sentence).Append('\n');
        return this;
    }

    public string Final(long answer) =>
        _text.Append("#### ").Append(answer.ToString(CultureInfo.InvariantCulture)).ToString();
}

/// <summary>Draws from the seeded generator; the helpers keep the templates short.</summary>
internal static class RandomExtensions
{
    /// <summary>An integer in [min, max], both inclusive.</summary>
    public static int Between(this Random rng, int min, int max) => rng.Next(min, max + 1);

    public static T Pick<T>(this Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    public static bool Chance(this Random rng, double p) => rng.NextDouble() < p;

    /// <summary>Two different items.</summary>
    public static (T First, T Second) PickTwo<T>(this Random rng, IReadOnlyList<T> items)
    {
        int i = rng.Next(items.Count);
        int j = rng.Next(items.Count - 1);
        if (j >= i)
            j++;
        return (items[i], items[j]);
    }

    /// <summary>Three different items.</summary>
    public static (T First, T Second, T Third) PickThree<T>(this Random rng, IReadOnlyList<T> items)
    {
        var (first, second) = rng.PickTwo(items);
        T third;
        do
            third = rng.Pick(items);
        while (EqualityComparer<T>.Default.Equals(third, first) || EqualityComparer<T>.Default.Equals(third, second));
        return (first, second, third);
    }
}
