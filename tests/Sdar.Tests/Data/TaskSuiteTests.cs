using System.Globalization;
using System.Text.RegularExpressions;
using Sdar.Data;

namespace Sdar.Tests.Data;

public class TaskSuiteTests
{
    private static readonly IReadOnlyList<TaskItem> Sample = TaskSuite.Generate(seed: 7, count: 4000);

    [Fact]
    public void The_same_seed_gives_the_same_items()
    {
        Assert.Equal(TaskSuite.Generate(42, 300), TaskSuite.Generate(42, 300));
    }

    [Fact]
    public void Different_seeds_give_different_items()
    {
        var a = TaskSuite.Generate(1, 50).Select(i => i.Question);
        var b = TaskSuite.Generate(2, 50).Select(i => i.Question);
        Assert.True(a.Intersect(b).Count() < 5);
    }

    [Fact]
    public void Generated_questions_are_all_different()
    {
        var keys = Sample.Select(i => TaskSuite.NormaliseQuestion(i.Question)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void Every_family_of_the_mix_appears()
    {
        var families = Sample.Select(i => i.Family).ToHashSet();
        foreach (var (family, _) in TaskSuite.Mix)
            Assert.Contains(family.Name, families);
        Assert.Equal(1.0, TaskSuite.Mix.Sum(m => m.Weight), 9);
    }

    [Fact]
    public void Family_shares_follow_the_mix_weights_at_training_scale()
    {
        // A family whose space of questions is too small loses its share to de-duplication.
        var items = TaskSuite.Generate(seed: 99, count: 20_000);
        var counts = items.GroupBy(i => i.Family).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (family, weight) in TaskSuite.Mix)
            Assert.InRange(counts[family.Name] / (double)items.Count, weight * 0.8, weight * 1.25);
    }

    [Fact]
    public void Word_problems_are_most_of_the_mix()
    {
        double share = Sample.Count(i => i.Family.StartsWith("word.", StringComparison.Ordinal)) / (double)Sample.Count;
        Assert.InRange(share, 0.55, 0.65);
    }

    [Fact]
    public void Every_answer_is_worked_lines_then_a_final_integer_line()
    {
        foreach (var item in Sample)
        {
            var lines = item.Answer.Split('\n');
            Assert.True(lines.Length >= 2, item.Answer);
            Assert.Matches(@"^#### \d+$", lines[^1]);
            Assert.All(lines[..^1], line => Assert.Matches(@"^[A-Z0-9].*[.]$", line));
            Assert.Single(Regex.Matches(item.Answer, "####"));
            Assert.Equal(lines[^1][5..], GsmAnswer.Extract(item.Answer));
            Assert.DoesNotContain('\n', item.Question);
            Assert.EndsWith("?", item.Question);
        }
    }

    [Fact]
    public void Every_written_computation_is_correct()
    {
        int chains = 0;
        foreach (var item in Sample)
        {
            foreach (string chain in WrittenArithmetic.Chains(item.Answer))
            {
                chains++;
                Assert.Null(WrittenArithmetic.Check(chain));
            }
        }

        Assert.True(chains > 2 * Sample.Count);
    }

    [Fact]
    public void Word_problems_take_two_to_four_computation_steps()
    {
        foreach (var item in Sample.Where(i => i.Family.StartsWith("word.", StringComparison.Ordinal)))
            Assert.InRange(WrittenArithmetic.Chains(item.Answer).Count(), 2, 4);
    }

    [Fact]
    public void The_final_answer_is_the_result_of_the_last_computation_in_word_problems()
    {
        foreach (var item in Sample.Where(i => i.Family.StartsWith("word.", StringComparison.Ordinal)))
        {
            string last = WrittenArithmetic.Chains(item.Answer).Last();
            Assert.Equal(WrittenArithmetic.Evaluate(last.Split(" = ")[^1]), item.FinalAnswer);
        }
    }

    [Theory]
    [InlineData("arithmetic.addition", '+')]
    [InlineData("arithmetic.subtraction", '-')]
    [InlineData("arithmetic.multiplication", '*')]
    public void Arithmetic_answers_equal_the_question_computed_directly(string family, char op)
    {
        var items = Sample.Where(i => i.Family == family).ToList();
        Assert.NotEmpty(items);
        foreach (var item in items)
        {
            var m = Regex.Match(item.Question, @"^What is (\d+) (.) (\d+)\?$");
            Assert.True(m.Success, item.Question);
            Assert.Equal(op.ToString(), m.Groups[2].Value);
            long a = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), b = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            Assert.Equal(op switch { '+' => a + b, '-' => a - b, _ => a * b }, item.FinalAnswer);
        }
    }

    [Fact]
    public void Column_addition_names_every_carry()
    {
        var item = Sample.First(i => i.Family == "arithmetic.addition" && i.Answer.Contains("carry", StringComparison.Ordinal));
        var columns = item.Answer.Split('\n').Where(l => l.Contains(": ", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("Ones: ", columns[0]);
        foreach (string line in columns)
        {
            var m = Regex.Match(line, @"= (\d+)\. Write (\d)(?:, carry (\d))?\.$");
            Assert.True(m.Success, line);
            int column = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Equal(column % 10, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            Assert.Equal(column >= 10, m.Groups[3].Success);
        }
    }

    [Fact]
    public void Sorting_answers_come_from_the_sorted_list()
    {
        foreach (var item in Sample.Where(i => i.Family == "sorting"))
        {
            var numbers = Regex.Match(item.Question, @"list ([\d, ]+)\?$").Groups[1].Value
                .Split(", ").Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Contains($"In order from smallest to largest: {string.Join(", ", numbers)}.", item.Answer);
            long expected = item.Question switch
            {
                var q when q.Contains("minus", StringComparison.Ordinal) => numbers[^1] - numbers[0],
                var q when q.Contains("sum of the two largest", StringComparison.Ordinal) => numbers[^1] + numbers[^2],
                var q when q.Contains("the largest number", StringComparison.Ordinal) => numbers[^1],
                var q when q.Contains("second largest", StringComparison.Ordinal) => numbers[^2],
                var q when q.Contains("third largest", StringComparison.Ordinal) => numbers[^3],
                var q when q.Contains("the smallest number", StringComparison.Ordinal) => numbers[0],
                var q when q.Contains("second smallest", StringComparison.Ordinal) => numbers[1],
                var q when q.Contains("third smallest", StringComparison.Ordinal) => numbers[2],
                var q => throw new InvalidOperationException(q),
            };
            Assert.Equal(expected, item.FinalAnswer);
        }
    }

    [Fact]
    public void Texts_are_short()
    {
        foreach (var item in Sample)
            Assert.True(item.Question.Length + item.Answer.Length < 600, item.Question + "\n" + item.Answer);
        double mean = Sample.Average(i => i.Question.Length + i.Answer.Length);
        Assert.InRange(mean, 100, 400);
    }

    [Fact]
    public void Printing_a_sample()
    {
        // Not an assertion: documents what the items look like in the test log.
        foreach (var item in TaskSuite.Generate(3, 12))
            Console.WriteLine($"[{item.Family}]\n{item.Question}\n{item.Answer}\n");
    }
}
