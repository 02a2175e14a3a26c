namespace Sdar.Data.Families;

/// <summary>
/// Order a short list of different numbers, then answer one integer question about the order (the k-th smallest
/// or largest, the range, the sum of the two largest).
/// </summary>
internal static class Sorting
{
    public static ITaskFamily Family { get; } = new TemplateFamily("sorting", Generate);

    public static TaskItem Generate(Random rng)
    {
        int count = rng.Between(4, 6);
        var numbers = new List<int>();
        while (numbers.Count < count)
        {
            int n = rng.Between(1, 99);
            if (!numbers.Contains(n))
                numbers.Add(n);
        }

        var sorted = numbers.Order().ToList();
        string list = string.Join(", ", numbers);
        string order = $"In order from smallest to largest: {string.Join(", ", sorted)}.";
        var solution = new Solution().Step(order);
        switch (rng.Next(4))
        {
            case 0:
            {
                int k = rng.Between(1, Math.Min(3, count));
                string which = k == 1 ? "smallest" : $"{Lexicon.Ordinal(k)} smallest";
                int answer = sorted[k - 1];
                return new TaskItem($"What is the {which} number in the list {list}?",
                    solution.Step($"The {which} number is {answer}.").Final(answer), "sorting");
            }
            case 1:
            {
                int k = rng.Between(1, Math.Min(3, count));
                string which = k == 1 ? "largest" : $"{Lexicon.Ordinal(k)} largest";
                int answer = sorted[count - k];
                return new TaskItem($"What is the {which} number in the list {list}?",
                    solution.Step($"The {which} number is {answer}.").Final(answer), "sorting");
            }
            case 2:
            {
                int largest = sorted[^1], smallest = sorted[0], range = largest - smallest;
                return new TaskItem($"What is the largest number minus the smallest number in the list {list}?",
                    solution.Step($"The largest is {largest} and the smallest is {smallest}.")
                        .Step($"{largest} - {smallest} = {range}.").Final(range), "sorting");
            }
            default:
            {
                int first = sorted[^1], second = sorted[^2], sum = first + second;
                return new TaskItem($"What is the sum of the two largest numbers in the list {list}?",
                    solution.Step($"The two largest are {first} and {second}.")
                        .Step($"{first} + {second} = {sum}.").Final(sum), "sorting");
            }
        }
    }
}
