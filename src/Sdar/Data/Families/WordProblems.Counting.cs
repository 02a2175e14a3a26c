namespace Sdar.Data.Families;

internal static partial class WordProblems
{
    /// <summary>Gather things, optionally keep some, share the rest equally (an exact division).</summary>
    public static TaskItem Sharing(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        var thing = rng.Pick(Lexicon.Collectibles);
        int friends = rng.Between(2, 8), each = rng.Between(2, 12);
        int shared = friends * each;
        int kept = rng.Chance(0.5) ? rng.Between(1, 9) : 0;
        int total = shared + kept;
        int more = rng.Between(1, total - 1), had = total - more;

        string question = $"{p.Name} has {had} {thing.Many}. {p.HeCap} gets {more} more.";
        var solution = new Solution().Step($"{p.Name} has {had} + {more} = {total} {thing.Many}.");
        if (kept == 0)
        {
            question += $" {p.HeCap} shares them equally among {friends} friends.";
        }
        else
        {
            question += $" {p.HeCap} keeps {kept} and shares the rest equally among {friends} friends.";
            solution.Step($"{p.HeCap} shares {total} - {kept} = {shared} {thing.Many}.");
        }

        return Item("word.sharing",
            question + $" How many {thing.Many} does each friend get?",
            solution.Step($"Each friend gets {shared} / {friends} = {each} {thing.Many}.").Final(each));
    }

    /// <summary>Make batches, give some away, pack the rest into bags of a fixed size.</summary>
    public static TaskItem Baking(Random rng)
    {
        var p = rng.Pick(Lexicon.People);
        var (thing, batch) = rng.Pick(Lexicon.BatchGoods);
        int batches = rng.Between(2, 8), perBatch = rng.Between(4, 12);
        int made = batches * perBatch;
        int bagSize = rng.Between(2, 6);
        int bags = rng.Between(1, (made - 1) / bagSize);
        int packed = bags * bagSize, given = made - packed;
        return Item("word.baking",
            $"{p.Name} makes {batches} {batch.Many} of {thing.Many}. Each {batch.One} has {perBatch} {thing.Many}. {p.HeCap} gives away {given} of them and puts the rest into bags of {bagSize}. How many bags does {p.He} fill?",
            new Solution()
                .Step($"{p.HeCap} makes {batches} * {perBatch} = {made} {thing.Many}.")
                .Step($"After giving away {given}, {p.He} has {made} - {given} = {packed} {thing.Many}.")
                .Step($"{p.HeCap} fills {packed} / {bagSize} = {bags} bags.")
                .Final(bags));
    }

    /// <summary>Count the legs of two kinds of animal.</summary>
    public static TaskItem Farm(Random rng)
    {
        var (first, second) = rng.PickTwo(Lexicon.Animals);
        int a = rng.Between(2, 30), b = rng.Between(2, 30);
        int legsA = a * first.Legs, legsB = b * second.Legs, total = legsA + legsB;
        return Item("word.farm",
            $"A farm has {a} {first.Thing.Many} and {b} {second.Thing.Many}. Each {first.Thing.One} has {first.Legs} legs and each {second.Thing.One} has {second.Legs} legs. How many legs are there in total?",
            new Solution()
                .Step($"The {first.Thing.Many} have {a} * {first.Legs} = {legsA} legs.")
                .Step($"The {second.Thing.Many} have {b} * {second.Legs} = {legsB} legs.")
                .Step($"In total there are {legsA} + {legsB} = {total} legs.")
                .Final(total));
    }

    /// <summary>Classes of equal size, absentees, and optionally something handed to each present student.</summary>
    public static TaskItem School(Random rng)
    {
        int classes = rng.Between(2, 9), size = rng.Between(15, 35);
        int students = classes * size;
        int absent = rng.Between(1, students / 5), present = students - absent;
        string question = $"A school has {classes} classes with {size} students in each class. {absent} students are absent.";
        var solution = new Solution()
            .Step($"The school has {classes} * {size} = {students} students.")
            .Step($"There are {students} - {absent} = {present} students present.");
        if (rng.Chance(0.5))
            return Item("word.school", question + " How many students are present?", solution.Final(present));

        var thing = rng.Pick(Lexicon.Collectibles);
        int each = rng.Between(2, 5), needed = present * each;
        return Item("word.school",
            question + $" Each student who is present gets {each} {thing.Many}. How many {thing.Many} are needed?",
            solution.Step($"They need {present} * {each} = {needed} {thing.Many}.").Final(needed));
    }

    /// <summary>Give away a half, third or quarter, then find some more.</summary>
    public static TaskItem Fractions(Random rng)
    {
        var (p, friend) = rng.PickTwo(Lexicon.People);
        var thing = rng.Pick(Lexicon.Collectibles);
        (string word, int parts) = rng.Pick<(string, int)>([("half", 2), ("a third", 3), ("a quarter", 4)]);
        int part = rng.Between(3, 25), had = part * parts, kept = had - part;
        int found = rng.Between(1, 30), now = kept + found;
        return Item("word.fractions",
            $"{p.Name} has {had} {thing.Many}. {p.HeCap} gives {word} of them to {friend.Name}. Then {p.He} finds {found} more. How many {thing.Many} does {p.Name} have now?",
            new Solution()
                .Step($"{p.HeCap} gives away {had} / {parts} = {part} {thing.Many}.")
                .Step($"{p.HeCap} keeps {had} - {part} = {kept} {thing.Many}.")
                .Step($"Now {p.He} has {kept} + {found} = {now} {thing.Many}.")
                .Final(now));
    }
}
