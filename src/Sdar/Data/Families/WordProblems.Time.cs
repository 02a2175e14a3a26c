namespace Sdar.Data.Families;

internal static partial class WordProblems
{
    /// <summary>Relative ages: older/younger by some years, then a multiple; asks one age, the sum, or a future age.</summary>
    public static TaskItem Ages(Random rng)
    {
        var (a, b, c) = rng.PickThree(Lexicon.People);
        bool older = rng.Chance(0.6);
        int ageA = older ? rng.Between(3, 20) : rng.Between(12, 40);
        int diff = older ? rng.Between(2, 15) : rng.Between(2, ageA - 5);
        int ageB = older ? ageA + diff : ageA - diff;
        (string times, int factor) = ageB <= 30 && rng.Chance(0.4) ? ("three times", 3) : ("twice", 2);
        int ageC = ageB * factor;

        string question = $"{a.Name} is {ageA} years old. {b.Name} is {diff} years {(older ? "older" : "younger")} than {a.Name}. {c.Name} is {times} as old as {b.Name}.";
        var solution = new Solution()
            .Step(older ? $"{b.Name} is {ageA} + {diff} = {ageB} years old." : $"{b.Name} is {ageA} - {diff} = {ageB} years old.")
            .Step($"{c.Name} is {factor} * {ageB} = {ageC} years old.");
        switch (rng.Next(3))
        {
            case 0:
                return Item("word.ages", question + $" How old is {c.Name}?", solution.Final(ageC));
            case 1:
                int sum = ageA + ageB + ageC;
                return Item("word.ages", question + " What is the sum of their ages?",
                    solution.Step($"The sum of their ages is {ageA} + {ageB} + {ageC} = {sum}.").Final(sum));
            default:
                int years = rng.Between(2, 20), future = ageC + years;
                return Item("word.ages", question + $" How old will {c.Name} be in {years} years?",
                    solution.Step($"In {years} years {c.Name} will be {ageC} + {years} = {future} years old.").Final(future));
        }
    }

    /// <summary>Two legs of a trip at different speeds; the total or what is left of a longer trip.</summary>
    public static TaskItem Distance(Random rng)
    {
        string vehicle = rng.Pick(Lexicon.Vehicles);
        int speed1 = rng.Between(2, 18) * 5, hours1 = rng.Between(2, 6);
        int speed2 = rng.Between(2, 18) * 5, hours2 = rng.Between(1, 5);
        int leg1 = speed1 * hours1, leg2 = speed2 * hours2, total = leg1 + leg2;
        string legs = $"travels at {speed1} km per hour for {hours1} hours. Then it travels at {speed2} km per hour for {hours2} {(hours2 == 1 ? "hour" : "hours")}.";
        var solution = new Solution()
            .Step($"First it travels {speed1} * {hours1} = {leg1} km.")
            .Step($"Then it travels {speed2} * {hours2} = {leg2} km.")
            .Step($"In total it travels {leg1} + {leg2} = {total} km.");
        if (rng.Chance(0.6))
            return Item("word.distance", $"A {vehicle} {legs} How many km does it travel in total?", solution.Final(total));

        int trip = total + rng.Between(1, 40) * 5, left = trip - total;
        return Item("word.distance",
            $"A {vehicle} makes a trip of {trip} km. It {legs} How many km are left?",
            solution.Step($"There are {trip} - {total} = {left} km left.").Final(left));
    }

    /// <summary>Pages read per day against the length of a book.</summary>
    public static TaskItem Reading(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        int perDay = rng.Between(5, 30), days = rng.Between(2, 9);
        int read = perDay * days;
        int pages = read + rng.Between(10, 200), left = pages - read;
        string question = $"A book has {pages} pages. {p.Name} reads {perDay} pages a day for {days} days.";
        var solution = new Solution()
            .Step($"{p.HeCap} reads {perDay} * {days} = {read} pages.")
            .Step($"There are {pages} - {read} = {left} pages left.");
        if (rng.Chance(0.6) || left < 2)
            return Item("word.reading", question + " How many pages are left to read?", solution.Final(left));

        int more = rng.Between(1, left - 1), after = left - more;
        return Item("word.reading",
            question + $" The next day {p.He} reads {more} pages. How many pages are left now?",
            solution.Step($"Now there are {left} - {more} = {after} pages left.").Final(after));
    }
}
