using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

public class WorkerPoolTests
{
    [Fact]
    public void Every_index_runs_exactly_once_across_many_dispatches()
    {
        for (int round = 0; round < 200; round++)
        {
            int count = 1 + round % 37;
            var hits = new int[count];
            WorkerPool.For(count, 2, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void An_exception_in_the_body_reaches_the_caller_and_the_pool_keeps_working()
    {
        var error = Assert.Throws<AggregateException>(() => WorkerPool.For(8, 2, i => { if (i == 5) throw new InvalidOperationException("boom"); }));
        Assert.Contains("boom", error.InnerException!.Message);
        int sum = 0;
        WorkerPool.For(10, 2, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }

    [Fact]
    public void Concurrent_and_nested_dispatches_complete()
    {
        int total = 0;
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int r = 0; r < 50; r++)
                WorkerPool.For(6, 2, i => WorkerPool.For(3, 2, j => Interlocked.Increment(ref total)));
        })).ToArray();
        Task.WaitAll(callers);
        Assert.Equal(4 * 50 * 6 * 3, total);
    }
}
