namespace Sdar.Data.Families;

/// <summary>
/// GSM8K-style word problems: two to four steps, each answer line a sentence with its computation, small whole
/// numbers throughout (every division is exact, every difference positive).
/// </summary>
internal static partial class WordProblems
{
    public static IReadOnlyList<ITaskFamily> All { get; } =
    [
        new TemplateFamily("word.shopping", Shopping),
        new TemplateFamily("word.rates", Rates),
        new TemplateFamily("word.savings", Savings),
        new TemplateFamily("word.sharing", Sharing),
        new TemplateFamily("word.baking", Baking),
        new TemplateFamily("word.farm", Farm),
        new TemplateFamily("word.school", School),
        new TemplateFamily("word.fractions", Fractions),
        new TemplateFamily("word.ages", Ages),
        new TemplateFamily("word.distance", Distance),
        new TemplateFamily("word.reading", Reading),
        new TemplateFamily("word.production", Production),
    ];

    private static readonly int[] RoundSums = [20, 50, 100, 200, 500, 1000];

    private static TaskItem Item(string family, string question, string answer) => new(question, answer, family);

    /// <summary>Two kinds of item at a unit price each; the total, or the change from a round sum.</summary>
    public static TaskItem Shopping(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        var (first, second) = rng.PickTwo(Lexicon.ShopItems);
        int a = rng.Between(2, 9), priceA = rng.Between(first.MinPrice, first.MaxPrice);
        int b = rng.Between(2, 9), priceB = rng.Between(second.MinPrice, second.MaxPrice);
        int costA = a * priceA, costB = b * priceB, total = costA + costB;
        string question = $"{p.Name} buys {a} {first.Thing.Many} for {priceA} dollars each and {b} {second.Thing.Many} for {priceB} dollars each.";
        var solution = new Solution()
            .Step($"The {first.Thing.Many} cost {a} * {priceA} = {costA} dollars.")
            .Step($"The {second.Thing.Many} cost {b} * {priceB} = {costB} dollars.")
            .Step($"In total {p.He} spends {costA} + {costB} = {total} dollars.");
        if (!rng.Chance(0.4))
            return Item("word.shopping", question + $" How much does {p.He} spend in total?", solution.Final(total));

        int paid = RoundSums.First(x => x > total);
        int change = paid - total;
        return Item("word.shopping",
            question + $" {p.HeCap} pays with {paid} dollars. How much change does {p.He} get?",
            solution.Step($"{p.HeCap} gets {paid} - {total} = {change} dollars in change.").Final(change));
    }

    /// <summary>Pay per hour, hours per day, days; optionally minus spending.</summary>
    public static TaskItem Rates(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        int rate = rng.Between(5, 25), hours = rng.Between(2, 8), days = rng.Between(2, 7);
        int daily = rate * hours, total = daily * days;
        string question = $"{p.Name} earns {rate} dollars per hour. {p.HeCap} works {hours} hours a day for {days} days.";
        var solution = new Solution()
            .Step($"Each day {p.He} earns {rate} * {hours} = {daily} dollars.")
            .Step($"In {days} days {p.He} earns {daily} * {days} = {total} dollars.");
        if (rng.Chance(0.5))
            return Item("word.rates", question + $" How much money does {p.He} earn?", solution.Final(total));

        int spent = rng.Between(1, total - 1), left = total - spent;
        return Item("word.rates",
            question + $" Then {p.He} spends {spent} dollars. How much money does {p.He} have left?",
            solution.Step($"{p.HeCap} has {total} - {spent} = {left} dollars left.").Final(left));
    }

    /// <summary>Weekly savings: money after a purchase, or weeks needed to afford something.</summary>
    public static TaskItem Savings(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        string thing = rng.Pick(Lexicon.BigPurchases);
        int start = rng.Between(5, 100), weekly = rng.Between(3, 30), weeks = rng.Between(2, 12);
        int saved = weekly * weeks;
        if (rng.Chance(0.5))
        {
            int price = start + saved;
            return Item("word.savings",
                $"{p.Name} wants to buy a {thing} that costs {price} dollars. {p.HeCap} has {start} dollars and saves {weekly} dollars each week. How many weeks does {p.He} need to save?",
                new Solution()
                    .Step($"{p.HeCap} needs {price} - {start} = {saved} more dollars.")
                    .Step($"{p.HeCap} needs {saved} / {weekly} = {weeks} weeks.")
                    .Final(weeks));
        }

        int have = start + saved, cost = rng.Between(1, have - 1), left = have - cost;
        return Item("word.savings",
            $"{p.Name} has {start} dollars. {p.HeCap} saves {weekly} dollars each week for {weeks} weeks. Then {p.He} buys a {thing} for {cost} dollars. How much money does {p.He} have now?",
            new Solution()
                .Step($"{p.HeCap} saves {weekly} * {weeks} = {saved} dollars.")
                .Step($"Then {p.He} has {start} + {saved} = {have} dollars.")
                .Step($"After buying the {thing}, {p.He} has {have} - {cost} = {left} dollars.")
                .Final(left));
    }

    /// <summary>Things made per hour by a machine, over hours and days.</summary>
    public static TaskItem Production(Random rng)
    {
        var (thing, _) = rng.Pick(Lexicon.BatchGoods);
        int perHour = rng.Between(3, 40), hours = rng.Between(2, 10), days = rng.Between(2, 7);
        int daily = perHour * hours, total = daily * days;
        return Item("word.production",
            $"A machine makes {perHour} {thing.Many} per hour. It runs for {hours} hours each day. How many {thing.Many} does it make in {days} days?",
            new Solution()
                .Step($"Each day it makes {perHour} * {hours} = {daily} {thing.Many}.")
                .Step($"In {days} days it makes {daily} * {days} = {total} {thing.Many}.")
                .Final(total));
    }
}
