using Sdar.Data;
using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class GsmBenchmarkTests
{
    [Theory]
    [InlineData("So she has 18 apples.\n#### 18", "18")]
    [InlineData("#### 1,234", "1234")]
    [InlineData("#### $18.00", "18")]
    [InlineData("#### -7", "-7")]
    [InlineData("#### 3.0", "3")]
    [InlineData("#### 18.", "18")]
    [InlineData("First #### 5 then a correction\n#### 6", "6")]
    [InlineData("The total is $\\boxed{42}$.", "42")]
    [InlineData("\\boxed{\\$1,000}", "1000")]
    [InlineData("So the answer is 12 dollars. I double-checked: 3 + 9 = 12.", "12")]
    [InlineData("Answer: 7 cups, since 2 + 5 = 7", "7")]
    [InlineData("He pays 5 * 4 = 20 dollars in total.", "20")]
    [InlineData("It costs $1,500.50 in all.", "1500.5")]
    [InlineData("The range 3-5 holds 5 numbers", "5")]
    [InlineData("The temperature is \u22124 degrees", "-4")]
    [InlineData("It grew by 25%.", "25")]
    [InlineData("no number here", null)]
    public void Prediction_extraction_reads_the_final_number(string completion, string? expected) =>
        Assert.Equal(expected, GsmAnswer.ExtractPrediction(completion));

    [Fact]
    public void Thousands_commas_only_group_in_threes()
    {
        // "12,5" is not twelve thousand five (nor 125): the last number is 5.
        Assert.Equal("5", GsmAnswer.ExtractPrediction("We get 12,5 in the end"));
        Assert.Equal("3", GsmAnswer.ExtractPrediction("The list is 1, 2, 3"));
    }

    private static GsmItem Item(string final) => new(0, "q", "work\n#### " + final, final);

    [Theory]
    [InlineData("#### 180")] // contains "18" but is not 18
    [InlineData("#### -18")] // the sign matters
    [InlineData("#### 18.5")]
    [InlineData("The answer is 18? No: #### 20")] // the marker wins over an earlier statement
    [InlineData("I got 18 at first, but the answer is 20.")]
    [InlineData("")]
    public void Wrong_answers_that_a_naive_scorer_would_accept_are_wrong(string completion) =>
        Assert.False(new Gsm8kBenchmark().Score(Item("18"), completion).Correct);

    [Theory]
    [InlineData("#### 18")]
    [InlineData("#### 18.00")]
    [InlineData("The answer is $18.")]
    [InlineData("**Answer:** 18 apples")]
    public void Right_answers_in_other_forms_are_right(string completion) =>
        Assert.True(new Gsm8kBenchmark().Score(Item("18"), completion).Correct);

    [Fact]
    public void Every_real_test_item_is_right_when_the_completion_is_its_own_worked_answer()
    {
        var benchmark = new Gsm8kBenchmark();
        var items = benchmark.Read(BenchmarkFiles.Fixture("gsm8k-test-12.jsonl")).Cast<GsmItem>().ToList();
        Assert.Equal(12, items.Count);
        Assert.Equal("4", items[0].FinalAnswer);
        Assert.All(items, item => Assert.True(benchmark.Score(item, item.Answer).Correct));
        // Off by one or negated, every one is wrong.
        Assert.All(items, item => Assert.False(benchmark.Score(item, "#### " + (decimal.Parse(item.FinalAnswer, System.Globalization.CultureInfo.InvariantCulture) + 1)).Correct));
        Assert.All(items, item => Assert.False(benchmark.Score(item, "#### -" + item.FinalAnswer).Correct || item.FinalAnswer == "0"));
    }

    [Fact]
    public void A_reference_without_a_final_number_is_an_error_naming_the_line()
    {
        using var file = BenchmarkFiles.Write("gsm.jsonl", """{"question": "q", "answer": "#### 1"}""", """{"question": "q", "answer": "no marker"}""");
        var error = Assert.Throws<BenchmarkDataException>(() => new Gsm8kBenchmark().Read(file.Path));
        Assert.Contains("line 2", error.Message);
        Assert.Contains("\"answer\"", error.Message);
    }

    [Fact]
    public void Few_shot_prompts_put_question_answer_pairs_before_the_question()
    {
        var benchmark = new Gsm8kBenchmark();
        var shot = new GsmItem(0, "1+1?", "1+1=2\n#### 2", "2");
        Assert.Equal("What is 3?", benchmark.Prompt(new GsmItem(1, "What is 3?", "#### 3", "3"), []));
        Assert.Equal("Question: 1+1?\nAnswer: 1+1=2\n#### 2\n\nQuestion: What is 3?\nAnswer:", benchmark.Prompt(new GsmItem(1, "What is 3?", "#### 3", "3"), [shot]));
    }
}
