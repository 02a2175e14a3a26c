using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class ChoiceBenchmarkTests
{
    [Theory]
    [InlineData("The answer is (C).", "C")]
    [InlineData("The correct answer is (B)", "B")]
    [InlineData("Answer: D", "D")]
    [InlineData("answer: **A**", "A")]
    [InlineData("Option (A) looks tempting, but the answer is (C)", "C")]
    [InlineData("C", "C")]
    [InlineData("(B)", "B")]
    [InlineData(" D. 42 joules", "D")]
    [InlineData("**B**", "B")]
    [InlineData("After weighing them, **D** is the only consistent option.", "D")]
    [InlineData("The answer is C because A and B fail.", "C")]
    public void The_chosen_letter_is_extracted(string completion, string expected) => Assert.Equal(expected, ChoiceAnswer.Extract(completion, 4));

    [Theory]
    [InlineData("A cat sat on the mat.")] // an article, not a choice
    [InlineData("The answer is Because of friction")] // a word starting with a capital
    [InlineData("the answer is a matter of taste")]
    [InlineData("Answer: E")] // beyond four choices
    [InlineData("I think A or B")]
    [InlineData("")]
    public void Text_that_names_no_choice_gives_no_letter(string completion) => Assert.Null(ChoiceAnswer.Extract(completion, 4));

    [Fact]
    public void Mmlu_csv_reads_the_official_columns_and_subject_and_builds_the_official_prompt()
    {
        using var dev = BenchmarkFiles.Write("high_school_physics_dev.csv", "\"What is 1+1, roughly?\",1,2,3,4,B");
        using var test = BenchmarkFiles.Write("high_school_physics_test.csv", "\"Pick \"\"two\"\"\nplease\",one,two,three,four,B\r", "Second,a,b,c,d,A");
        var mmlu = new MmluBenchmark();
        var items = mmlu.Read(test.Path);
        Assert.Equal(2, items.Count);
        var first = (ChoiceItem)items[0];
        Assert.Equal("Pick \"two\"\nplease", first.Question);
        Assert.Equal(["one", "two", "three", "four"], first.Choices);
        Assert.Equal("B", first.AnswerLetter);
        Assert.Equal("high_school_physics", first.Subject);
        string prompt = mmlu.Prompt(items[1], mmlu.Read(dev.Path));
        Assert.Equal(
            "The following are multiple choice questions (with answers) about  high school physics.\n\n" +
            "What is 1+1, roughly?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n" +
            "Second\nA. a\nB. b\nC. c\nD. d\nAnswer:", prompt);
        Assert.True(mmlu.Score(items[1], "Answer: A").Correct);
        Assert.False(mmlu.Score(items[1], "Answer: B").Correct);
    }

    [Fact]
    public void Mmlu_jsonl_takes_a_choices_list_with_a_numeric_answer_or_letters()
    {
        using var file = BenchmarkFiles.Write("mmlu.jsonl",
            """{"question": "q1", "subject": "anatomy", "choices": ["w", "x", "y", "z"], "answer": 2}""",
            """{"question": "q2", "A": "w", "B": "x", "C": "y", "D": "z", "answer": "D"}""");
        var items = new MmluBenchmark().Read(file.Path).Cast<ChoiceItem>().ToList();
        Assert.Equal(["C", "D"], items.Select(i => i.AnswerLetter));
        using var bad = BenchmarkFiles.Write("mmlu.jsonl", """{"question": "q", "choices": ["w", "x"], "answer": 5}""");
        var error = Assert.Throws<BenchmarkDataException>(() => new MmluBenchmark().Read(bad.Path));
        Assert.Contains("line 1", error.Message);
        Assert.Contains("\"answer\"", error.Message);
    }

    [Fact]
    public void A_csv_row_with_the_wrong_number_of_columns_is_an_error_naming_its_line()
    {
        using var file = BenchmarkFiles.Write("x_test.csv", "q,a,b,c,d,A", "q,a,b,c,A");
        var error = Assert.Throws<BenchmarkDataException>(() => new MmluBenchmark().Read(file.Path));
        Assert.Contains("line 2", error.Message);
        Assert.Contains("6 columns", error.Message);
    }

    private static TempFile GpqaCsv(int rows)
    {
        var lines = new List<string> { "Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Record ID" };
        for (int i = 0; i < rows; i++) lines.Add($"old,Question {i}?,right{i},wrong{i}a,wrong{i}b,\"wrong{i}, c\",rec{i}");
        return BenchmarkFiles.Write("gpqa_diamond.csv", [.. lines]);
    }

    [Fact]
    public void Gpqa_shuffles_the_choices_deterministically_and_the_right_one_moves()
    {
        using var file = GpqaCsv(12);
        var items = new GpqaBenchmark(seed: 7).Read(file.Path).Cast<ChoiceItem>().ToList();
        var again = new GpqaBenchmark(seed: 7).Read(file.Path).Cast<ChoiceItem>().ToList();
        var other = new GpqaBenchmark(seed: 8).Read(file.Path).Cast<ChoiceItem>().ToList();
        Assert.All(items, i => Assert.Equal($"right{i.Index}", i.Choices[i.AnswerIndex]));
        Assert.All(items, i => Assert.Equal([$"right{i.Index}", $"wrong{i.Index}, c", $"wrong{i.Index}a", $"wrong{i.Index}b"], i.Choices.Order(StringComparer.Ordinal)));
        Assert.Equal(items.Select(i => string.Join("|", i.Choices)), again.Select(i => string.Join("|", i.Choices)));
        Assert.NotEqual(items.Select(i => i.AnswerIndex), other.Select(i => i.AnswerIndex));
        Assert.True(items.Select(i => i.AnswerIndex).Distinct().Count() >= 3, "the right answer should not sit in one place");
        Assert.Equal("rec0", items[0].TaskId);
        // A fixed order, so that scores reported with a seed can be reproduced anywhere.
        Assert.Equal([2, 3, 1, 0], GpqaBenchmark.ShuffledOrder(0, 0));
    }

    [Fact]
    public void Gpqa_prompt_is_the_baselines_zero_shot_format()
    {
        var item = new ChoiceItem(0, "Why?", ["a", "b", "c", "d"], 1);
        Assert.Equal("What is the correct answer to this question: Why?\n\nChoices:\n(A) a\n(B) b\n(C) c\n(D) d\n\n" +
            "Format your response as follows: \"The correct answer is (insert answer here)\"", new GpqaBenchmark().Prompt(item, []));
        Assert.True(new GpqaBenchmark().Score(item, "The correct answer is (B)").Correct);
    }

    [Fact]
    public void A_gpqa_file_without_the_official_columns_is_an_error_naming_the_column()
    {
        using var file = BenchmarkFiles.Write("gpqa.csv", "Question,Correct Answer", "q,a");
        var error = Assert.Throws<BenchmarkDataException>(() => new GpqaBenchmark().Read(file.Path));
        Assert.Contains("Incorrect Answer 1", error.Message);
    }
}
