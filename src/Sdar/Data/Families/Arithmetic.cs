using System.Globalization;

namespace Sdar.Data.Families;

/// <summary>
/// Multi-digit arithmetic with the working written out: column addition with carries, subtraction by place value,
/// multiplication by splitting one factor into place values.
/// </summary>
internal static class Arithmetic
{
    public static IReadOnlyList<ITaskFamily> All { get; } =
    [
        new TemplateFamily("arithmetic.addition", Addition),
        new TemplateFamily("arithmetic.subtraction", Subtraction),
        new TemplateFamily("arithmetic.multiplication", Multiplication),
    ];

    private static readonly string[] PlaceNames = ["ones", "tens", "hundreds", "thousands", "ten thousands"];

    /// <summary>A number with exactly <paramref name="digits"/> digits.</summary>
    private static int WithDigits(Random rng, int digits)
    {
        int low = (int)Math.Pow(10, digits - 1);
        return rng.Next(low, low * 10);
    }

    /// <summary>Column addition, one short line per place value (ones first), carries named.</summary>
    public static TaskItem Addition(Random rng)
    {
        int a = WithDigits(rng, rng.Between(2, 4)), b = WithDigits(rng, rng.Between(2, 4));
        int sum = a + b;
        var solution = new Solution();
        int carry = 0, place = 0;
        for (int x = a, y = b; x > 0 || y > 0; x /= 10, y /= 10, place++)
        {
            int dx = x % 10, dy = y % 10, column = dx + dy + carry;
            string terms = carry > 0 ? $"{dx} + {dy} + {carry}" : $"{dx} + {dy}";
            carry = column / 10;
            string name = char.ToUpperInvariant(PlaceNames[place][0]) + PlaceNames[place][1..];
            solution.Step(carry > 0
                ? $"{name}: {terms} = {column}. Write {column % 10}, carry {carry}."
                : $"{name}: {terms} = {column}. Write {column}.");
        }

        if (carry > 0)
            solution.Step($"Write the carry {carry}.");
        return new TaskItem($"What is {a} + {b}?", solution.Step($"So {a} + {b} = {sum}.").Final(sum), "arithmetic.addition");
    }

    /// <summary>Subtract the smaller number one place value at a time, largest place first.</summary>
    public static TaskItem Subtraction(Random rng)
    {
        int a = WithDigits(rng, rng.Between(2, 4)), b = WithDigits(rng, rng.Between(2, 4));
        if (a < b)
            (a, b) = (b, a);
        if (a == b)
            a += rng.Between(1, 9);
        var solution = new Solution();
        int current = a;
        string digits = b.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < digits.Length; i++)
        {
            int place = digits.Length - 1 - i;
            int part = (digits[i] - '0') * (int)Math.Pow(10, place);
            if (part == 0)
                continue;
            solution.Step($"Subtract the {PlaceNames[place]}: {current} - {part} = {current - part}.");
            current -= part;
        }

        return new TaskItem($"What is {a} - {b}?", solution.Step($"So {a} - {b} = {current}.").Final(current), "arithmetic.subtraction");
    }

    /// <summary>
    /// A 2-3 digit number times a 1-2 digit one: the one-digit case splits the first factor by place value,
    /// the two-digit case splits the second factor into tens and ones.
    /// </summary>
    public static TaskItem Multiplication(Random rng)
    {
        int a = WithDigits(rng, rng.Between(2, 3));
        int b = rng.Chance(0.5) ? rng.Between(2, 9) : rng.Between(11, 99);
        int product = a * b;
        var solution = new Solution();
        if (b < 10)
        {
            var parts = PlaceParts(a);
            var products = parts.Select(part => part * b).ToList();
            if (parts.Count == 1)
                return new TaskItem($"What is {a} * {b}?", solution.Step($"So {a} * {b} = {product}.").Final(product), "arithmetic.multiplication");
            solution.Step($"Split {a} into {string.Join(" + ", parts)}.");
            for (int i = 0; i < parts.Count; i++)
                solution.Step($"{parts[i]} * {b} = {products[i]}.");
            solution.Step($"Add the parts: {string.Join(" + ", products)} = {product}.");
        }
        else
        {
            int tens = b / 10 * 10, ones = b % 10;
            if (ones == 0)
            {
                solution.Step($"{a} * {b / 10} = {a * (b / 10)}.")
                    .Step($"{a} * {b} = {a * (b / 10)} * 10 = {product}.");
            }
            else
            {
                solution.Step($"Split {b} into {tens} + {ones}.")
                    .Step($"{a} * {tens} = {a * tens}.")
                    .Step($"{a} * {ones} = {a * ones}.")
                    .Step($"Add the parts: {a * tens} + {a * ones} = {product}.");
            }
        }

        return new TaskItem($"What is {a} * {b}?", solution.Step($"So {a} * {b} = {product}.").Final(product), "arithmetic.multiplication");
    }

    /// <summary>The nonzero place-value parts of n, largest first: 407 -> [400, 7].</summary>
    private static List<int> PlaceParts(int n)
    {
        string digits = n.ToString(CultureInfo.InvariantCulture);
        var parts = new List<int>();
        for (int i = 0; i < digits.Length; i++)
        {
            int part = (digits[i] - '0') * (int)Math.Pow(10, digits.Length - 1 - i);
            if (part != 0)
                parts.Add(part);
        }

        return parts;
    }
}
