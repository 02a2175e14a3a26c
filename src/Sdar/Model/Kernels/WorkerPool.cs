using System.Diagnostics;

namespace Sdar.Model.Kernels;

/// <summary>
/// Persistent worker threads for the engine's parallel loops. A forward makes about six parallel dispatches per
/// layer, each well under a millisecond at T=1; waking thread-pool workers for every one cost about a quarter of a
/// millisecond each (measured: a 1.7B T=1 forward spent ~50 ms of 180 outside the products). These workers spin
/// briefly between dispatches and sleep after <see cref="SpinMicroseconds"/> without work.
/// </summary>
public static class WorkerPool
{
    private const int SpinMicroseconds = 300;

    private static readonly object DispatchLock = new();
    private static readonly List<Worker> Workers = [];
    private static Action<int>? _body, _first;
    private static int _count, _firstCount, _next, _done, _firstDone, _busy;
    private static long _generation;
    private static Exception? _error;

    [ThreadStatic] private static bool _onWorker;

    /// <summary>Runs <paramref name="body"/>(0 .. count-1) on up to <paramref name="threads"/> threads (the caller included).</summary>
    public static void For(int count, int threads, Action<int> body) => For(0, null, count, threads, body);

    /// <summary>
    /// Runs <paramref name="first"/>(0 .. firstCount-1), then <paramref name="body"/>(0 .. count-1), on up to
    /// <paramref name="threads"/> threads in one dispatch: no body item starts before every first item has finished.
    /// Why: a step that must precede a parallel loop (a product's packing of its input) would otherwise run on the
    /// caller while the workers wait, or cost a dispatch of its own. Items are claimed in order, so a thread that waits
    /// in a body item only waits for first items other threads are running.
    /// </summary>
    public static void For(int firstCount, Action<int>? first, int count, int threads, Action<int> body)
    {
        if (first is null || firstCount < 0) firstCount = 0;
        if (count <= 0)
        {
            for (int i = 0; i < firstCount; i++) first!(i);
            return;
        }
        if (threads <= 1 || count + firstCount == 1 || _onWorker)
        {
            for (int i = 0; i < firstCount; i++) first!(i);
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (!Monitor.TryEnter(DispatchLock))
        {
            // Another forward is using the workers (e.g. two server requests): fall back to the thread pool, whose
            // items run in no set order, so the first items go before, on the caller.
            for (int i = 0; i < firstCount; i++) first!(i);
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
            return;
        }
        try
        {
            EnsureWorkers(threads - 1);
            _count = firstCount + count;
            _firstCount = firstCount;
            _first = first;
            _firstDone = 0;
            _next = 0;
            _done = 0;
            _error = null;
            // The body last: a worker that reads it (acquire) then sees this dispatch's count and counters.
            Volatile.Write(ref _body, body);
            long generation = Interlocked.Increment(ref _generation);   // publishes the fields above
            for (int w = 0; w < threads - 1; w++) Workers[w].Wake();

            _onWorker = true;
            try { RunItems(body, _count); }
            finally { _onWorker = false; }

            WaitUntilAtLeast(ref _done, _count);
            var spin = new SpinWait();
            Volatile.Write(ref _body, null);
            _first = null;
            // A worker may still be inside RunItems (it found nothing left): wait until it is out before the
            // next dispatch resets the counters.
            while (Volatile.Read(ref _busy) > 0) spin.SpinOnce(sleep1Threshold: -1);
            GC.KeepAlive(generation);
            if (_error is { } error) throw new AggregateException(error);
        }
        finally
        {
            Monitor.Exit(DispatchLock);
        }
    }

    /// <summary>Claims items 0 .. count-1 of the open dispatch in order: the first items, then the body's.</summary>
    private static void RunItems(Action<int> body, int count)
    {
        int firstCount = Volatile.Read(ref _firstCount);
        while (true)
        {
            int i = Interlocked.Increment(ref _next) - 1;
            if (i >= count) return;
            try
            {
                if (i < firstCount)
                {
                    try { _first!(i); }
                    finally { Interlocked.Increment(ref _firstDone); }   // even when it failed: nobody waits forever
                }
                else
                {
                    WaitUntilAtLeast(ref _firstDone, firstCount);
                    body(i - firstCount);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            Interlocked.Increment(ref _done);
        }
    }

    /// <summary>Iterations of pure spinning before a wait starts yielding its core (tens of microseconds).</summary>
    private const int SpinsBeforeYielding = 2048;

    /// <summary>
    /// Spins until <paramref name="counter"/> reaches <paramref name="target"/>: with pauses only for a while, then
    /// yielding too. Why not SpinWait alone: it yields after about ten spins, and each yield is a system call, so the
    /// caller noticed the end of a dispatch a microsecond or so late, 31 times a forward (__schedule was 0.6 % of a
    /// forward of sdar-mini on two threads). The yielding still comes, for a machine with more threads than cores.
    /// </summary>
    private static void WaitUntilAtLeast(ref int counter, int target)
    {
        for (int i = 0; i < SpinsBeforeYielding; i++)
        {
            if (Volatile.Read(ref counter) >= target) return;
            Thread.SpinWait(1);
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref counter) < target) spin.SpinOnce(sleep1Threshold: -1);
    }

    private static void EnsureWorkers(int count)
    {
        while (Workers.Count < count) Workers.Add(new Worker(Workers.Count));
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Workers live as long as the process.")]
    private sealed class Worker
    {
        private readonly SemaphoreSlim _signal = new(0);
        private int _sleeping;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"sdar-worker-{index}" };
            thread.Start();
        }

        public void Wake()
        {
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _signal.Release();
        }

        private void Loop()
        {
            _onWorker = true;
            long seen = Volatile.Read(ref _generation);
            while (true)
            {
                long spinUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
                int spins = 0;
                while (Volatile.Read(ref _generation) == seen)
                {
                    // Short pauses between looks, so that a dispatch is seen within a pause or two (SpinWait(20) was
                    // most of a microsecond, 31 times a forward); the clock only every 16th look.
                    if ((++spins & 15) != 0 || Stopwatch.GetTimestamp() < spinUntil)
                    {
                        Thread.SpinWait(1);
                        continue;
                    }
                    Volatile.Write(ref _sleeping, 1);
                    if (Volatile.Read(ref _generation) != seen)
                    {
                        // Work arrived while going to sleep: take the flag back, or consume the wake-up already sent.
                        if (Interlocked.Exchange(ref _sleeping, 0) == 0) _signal.Wait();
                        break;
                    }
                    _signal.Wait();
                    spinUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
                }
                seen = Volatile.Read(ref _generation);
                Interlocked.Increment(ref _busy);
                try
                {
                    // Only join if the dispatch this generation announced is still open.
                    if (Volatile.Read(ref _generation) == seen && Volatile.Read(ref _body) is { } body)
                        RunItems(body, Volatile.Read(ref _count));
                }
                finally
                {
                    Interlocked.Decrement(ref _busy);
                }
            }
        }
    }
}
