using System.Numerics;
using Sdar.Evaluation;

namespace Sdar.Tests.Evaluation;

public class PassAtKTests
{
    private static double Exact(int n, int c, int k)
    {
        static BigInteger Choose(int n, int k)
        {
            if (k < 0 || k > n) return 0;
            BigInteger r = 1;
            for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
            return r;
        }
        // 1 - C(n-c, k) / C(n, k), with the ratio formed exactly before it becomes a double.
        var (num, den) = (Choose(n - c, k), Choose(n, k));
        return 1.0 - (double)(num * 1_000_000_000_000 / den) / 1e12;
    }

    [Theory]
    [InlineData(10, 0, 1, 0.0)]
    [InlineData(10, 10, 5, 1.0)]
    [InlineData(5, 1, 1, 0.2)]
    [InlineData(10, 3, 5, 1 - 21 / 252.0)]
    [InlineData(4, 2, 3, 1.0)] // fewer wrong samples than k: some draw must be right
    public void Estimates_the_chance_that_one_of_k_draws_is_right(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Theory]
    [InlineData(200, 20, 100)]
    [InlineData(200, 1, 10)]
    [InlineData(1000, 7, 500)]
    public void The_product_form_stays_exact_where_binomials_overflow_a_double(int n, int c, int k) =>
        Assert.Equal(Exact(n, c, k), PassAtK.Estimate(n, c, k), 9);

    [Fact]
    public void Pass_at_1_is_the_share_of_right_samples()
    {
        Assert.Equal(0.35, PassAtK.Estimate(20, 7, 1), 12);
        Assert.Equal((0.5 + 0.0) / 2, PassAtK.Mean([(2, 1), (2, 0)], 1), 12);
    }

    [Fact]
    public void Impossible_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(3, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(3, 1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(0, 0, 1));
    }

    [Fact]
    public void Majority_vote_takes_the_most_given_answer_and_ties_go_to_the_first_to_reach_the_count()
    {
        Assert.Equal(1, MajorityVote.Winner(["3", "4", "4", null, "3", "4"]));
        Assert.Equal(1, MajorityVote.Winner(["3", "4", "4", "3"])); // "4" has two votes before "3" does
        Assert.Equal(1, MajorityVote.Winner([null, "7"]));
        Assert.Null(MajorityVote.Winner([null, null]));
    }
}
