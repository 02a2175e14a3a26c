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

    [Fact]
    public void Body_items_start_only_after_every_first_item_has_finished()
    {
        for (int round = 0; round < 200; round++)
        {
            int firstCount = 1 + round % 3, count = 1 + round % 11, finished = 0, early = 0;
            var hits = new int[count];
            WorkerPool.For(firstCount, f =>
            {
                Thread.SpinWait(200 * (f + 1));   // first items that take a while, so a waiting body item would show
                Interlocked.Increment(ref finished);
            }, count, 2, i =>
            {
                if (Volatile.Read(ref finished) != firstCount) Interlocked.Increment(ref early);
                Interlocked.Increment(ref hits[i]);
            });
            Assert.Equal(0, early);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        // From other threads at once (the thread-pool fallback runs the first items before, on the caller).
        int bad = 0;
        Task.WaitAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int r = 0; r < 50; r++)
            {
                int finished = 0;
                WorkerPool.For(2, f => Interlocked.Increment(ref finished), 5, 2, i => { if (Volatile.Read(ref finished) != 2) Interlocked.Increment(ref bad); });
            }
        })).ToArray());
        Assert.Equal(0, bad);
    }

    [Fact]
    public void A_first_item_that_throws_reaches_the_caller_without_leaving_the_body_waiting()
    {
        // Wrapped when the workers ran it; as it is when another test held the workers and the caller ran it.
        var error = Record.Exception(() =>
            WorkerPool.For(2, f => { if (f == 0) throw new InvalidOperationException("pack failed"); }, 6, 2, _ => { }));
        Assert.Contains("pack failed", (error is AggregateException wrapped ? wrapped.InnerException! : error!).Message);
        int sum = 0;
        WorkerPool.For(1, _ => Interlocked.Add(ref sum, 100), 10, 2, i => Interlocked.Add(ref sum, i));
        Assert.Equal(145, sum);
    }
}
