namespace Sdar.Data.Families;

/// <summary>
/// "What is the next number in the sequence": a constant step up or down, a constant factor, or steps that grow
/// by one each time.
/// </summary>
internal static class Sequences
{
    public static ITaskFamily Family { get; } = new TemplateFamily("sequence", Generate);

    public static TaskItem Generate(Random rng)
    {
        int length = rng.Between(4, 6);
        var terms = new List<int>();
        var solution = new Solution();
        int next;
        // Constant factors are a small space (a few hundred sequences), so they get a smaller share.
        switch (rng.Next(20))
        {
            case < 7:
            {
                int step = rng.Between(2, 25), start = rng.Between(1, 200);
                for (int i = 0; i < length; i++)
                    terms.Add(start + i * step);
                next = terms[^1] + step;
                solution.Step($"Each number is {step} more than the one before.").Step($"{terms[^1]} + {step} = {next}.");
                break;
            }
            case < 12:
            {
                int step = rng.Between(2, 25), start = step * length + rng.Between(1, 200);
                for (int i = 0; i < length; i++)
                    terms.Add(start - i * step);
                next = terms[^1] - step;
                solution.Step($"Each number is {step} less than the one before.").Step($"{terms[^1]} - {step} = {next}.");
                break;
            }
            case < 14:
            {
                int factor = rng.Between(2, 4), start = rng.Between(1, factor == 2 ? 60 : factor == 3 ? 20 : 10);
                length = rng.Between(3, 4);
                for (int i = 0, t = start; i < length; i++, t *= factor)
                    terms.Add(t);
                next = terms[^1] * factor;
                solution.Step($"Each number is {factor} times the one before.").Step($"{terms[^1]} * {factor} = {next}.");
                break;
            }
            default:
            {
                int firstStep = rng.Between(1, 9), start = rng.Between(1, 100);
                terms.Add(start);
                for (int i = 0; i < length - 1; i++)
                    terms.Add(terms[^1] + firstStep + i);
                var steps = Enumerable.Range(0, length - 1).Select(i => firstStep + i).ToList();
                int nextStep = firstStep + length - 1;
                next = terms[^1] + nextStep;
                solution.Step($"The differences are {string.Join(", ", steps)}.")
                    .Step($"Each difference is 1 more than the one before, so the next difference is {nextStep}.")
                    .Step($"{terms[^1]} + {nextStep} = {next}.");
                break;
            }
        }

        return new TaskItem($"What is the next number in the sequence {string.Join(", ", terms)}?",
            solution.Final(next), "sequence");
    }
}
