using Sdar.Data;

namespace Sdar.Tests.Data;

public class GsmAnswerTests
{
    [Theory]
    [InlineData("3 * 4 = 12.\n#### 12", "12")]
    [InlineData("#### 1,234", "1234")]
    [InlineData("#### $ 56", "56")]
    [InlineData("####  -7", "-7")]
    [InlineData("#### 12.50", "12.5")]
    [InlineData("#### 7.0", "7")]
    [InlineData("#### 42<|im_end|>", "42")]
    [InlineData("#### 3\nmore text #### 9.", "9")]
    [InlineData("#### 1 000", "1")]
    public void Extracts_the_number_after_the_last_marker(string text, string expected)
    {
        Assert.Equal(expected, GsmAnswer.Extract(text));
    }

    [Theory]
    [InlineData("The answer is 12.")]
    [InlineData("#### twelve")]
    [InlineData("")]
    [InlineData("12 ####")]
    public void Gives_null_without_a_marked_number(string text)
    {
        Assert.Null(GsmAnswer.Extract(text));
    }

    [Fact]
    public void Exact_match_compares_the_numbers_not_the_text()
    {
        Assert.True(GsmAnswer.IsCorrect("so 2 + 2 = 4\n#### 4.0", "#### 4"));
        Assert.True(GsmAnswer.IsCorrect("#### 1,000", "steps\n#### 1000"));
        Assert.False(GsmAnswer.IsCorrect("#### 5", "#### 4"));
        Assert.False(GsmAnswer.IsCorrect("no answer", "#### 4"));
        Assert.Equal(0.5, GsmAnswer.ExactMatch(["#### 1", "#### 3"], ["#### 1", "#### 2"]));
        Assert.Throws<ArgumentException>(() => GsmAnswer.ExactMatch(["#### 1"], []));
    }
}
