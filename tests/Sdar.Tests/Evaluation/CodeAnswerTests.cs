using Sdar.Evaluation.Execution;

namespace Sdar.Tests.Evaluation;

public sealed class CodeAnswerTests
{
    [Theory]
    [InlineData("    return a + b\n", "    return a + b\n")]
    [InlineData("Here it is:\n```python\ndef f(a, b):\n    return a + b\n```\nDone.", "def f(a, b):\n    return a + b\n")]
    [InlineData("```\nx = 1\n```", "x = 1\n")]
    [InlineData("```py\nx = 1\n", "x = 1\n")]
    [InlineData("[BEGIN]\ndef f():\n    return 1\n[DONE]\ntrailing", "\ndef f():\n    return 1\n")]
    [InlineData("[BEGIN]\n```python\nx = 2\n```\n[DONE]", "x = 2\n")]
    [InlineData("```", "")]
    public void The_code_is_read_out_of_fences_and_mbpp_markers(string completion, string expected) =>
        Assert.Equal(expected, CodeAnswer.Extract(completion));
}
