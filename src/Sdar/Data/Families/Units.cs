namespace Sdar.Data.Families;

/// <summary>
/// Unit conversions with exact whole-number results: big to small, small to big (an exact division), a mixed
/// amount (3 hours and 25 minutes), and a two-step chain (hours to seconds).
/// </summary>
internal static class Units
{
    public static ITaskFamily Family { get; } = new TemplateFamily("units", Generate);

    private sealed record Unit(string One, string Many);

    private sealed record Conversion(Unit Big, Unit Small, int Factor);

    private static readonly Unit Kilometer = new("kilometer", "kilometers"), Meter = new("meter", "meters");
    private static readonly Unit Centimeter = new("centimeter", "centimeters");
    private static readonly Unit Kilogram = new("kilogram", "kilograms"), Gram = new("gram", "grams");
    private static readonly Unit Liter = new("liter", "liters"), Milliliter = new("milliliter", "milliliters");
    private static readonly Unit Week = new("week", "weeks"), Day = new("day", "days"), Hour = new("hour", "hours");
    private static readonly Unit Minute = new("minute", "minutes"), Second = new("second", "seconds");
    private static readonly Unit Year = new("year", "years"), Month = new("month", "months");
    private static readonly Unit Foot = new("foot", "feet"), Inch = new("inch", "inches");
    private static readonly Unit Dollar = new("dollar", "dollars"), Cent = new("cent", "cents");

    private static readonly Conversion[] Conversions =
    [
        new(Kilometer, Meter, 1000), new(Meter, Centimeter, 100), new(Kilogram, Gram, 1000),
        new(Liter, Milliliter, 1000), new(Week, Day, 7), new(Day, Hour, 24), new(Hour, Minute, 60),
        new(Minute, Second, 60), new(Year, Month, 12), new(Foot, Inch, 12), new(Dollar, Cent, 100),
    ];

    /// <summary>Pairs of conversions that chain: the small unit of the first is the big unit of the second.</summary>
    private static readonly (Conversion First, Conversion Second)[] Chains =
    [
        .. from first in Conversions
           from second in Conversions
           where first.Small == second.Big
           select (first, second),
    ];

    private static string Amount(int n, Unit unit) => $"{n} {(n == 1 ? unit.One : unit.Many)}";

    public static TaskItem Generate(Random rng)
    {
        var c = rng.Pick(Conversions);
        string fact = $"1 {c.Big.One} is {c.Factor} {c.Small.Many}.";
        // Chains are a small space (four of them), so they get a smaller share than the single conversions.
        switch (rng.Next(10))
        {
            case < 3:
            {
                int n = rng.Between(2, 500), result = n * c.Factor;
                return new TaskItem($"How many {c.Small.Many} are in {Amount(n, c.Big)}?",
                    new Solution().Step(fact).Step($"{n} * {c.Factor} = {result} {c.Small.Many}.").Final(result), "units");
            }
            case < 6:
            {
                int n = rng.Between(2, 500), small = n * c.Factor;
                return new TaskItem($"How many {c.Big.Many} are in {Amount(small, c.Small)}?",
                    new Solution().Step(fact).Step($"{small} / {c.Factor} = {n} {c.Big.Many}.").Final(n), "units");
            }
            case < 9:
            {
                int n = rng.Between(1, 30), rest = rng.Between(1, c.Factor - 1), whole = n * c.Factor, result = whole + rest;
                return new TaskItem($"How many {c.Small.Many} are in {Amount(n, c.Big)} and {Amount(rest, c.Small)}?",
                    new Solution().Step(fact)
                        .Step($"{Amount(n, c.Big)} is {n} * {c.Factor} = {whole} {c.Small.Many}.")
                        .Step($"{whole} + {rest} = {result} {c.Small.Many}.").Final(result), "units");
            }
            default:
            {
                var (first, second) = rng.Pick(Chains);
                int n = rng.Between(2, 60), middle = n * first.Factor, result = middle * second.Factor;
                return new TaskItem($"How many {second.Small.Many} are in {Amount(n, first.Big)}?",
                    new Solution()
                        .Step($"1 {first.Big.One} is {first.Factor} {first.Small.Many} and 1 {second.Big.One} is {second.Factor} {second.Small.Many}.")
                        .Step($"{Amount(n, first.Big)} is {n} * {first.Factor} = {middle} {first.Small.Many}.")
                        .Step($"{middle} {first.Small.Many} is {middle} * {second.Factor} = {result} {second.Small.Many}.")
                        .Final(result), "units");
            }
        }
    }
}
