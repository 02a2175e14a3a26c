using System.Threading.Channels;
using Sdar.Decoding;

namespace Sdar.Serving;

/// <summary>Engine totals: forwards and the new tokens they carried, answer tokens and the denoising forwards of finished sequences, failures, preemptions.</summary>
public sealed record EngineTotals(long Forwards, long ForwardTokens, long GeneratedTokens, long DenoiseForwards, long Failed, long Preemptions);

/// <summary>The engine's queue is full: the caller should retry later (HTTP 429 with Retry-After).</summary>
public sealed class EngineBusyException(string message) : Exception(message);

/// <summary>
/// One engine loop shared by concurrent callers (a server's request handlers): requests arrive through a channel,
/// a dedicated thread adds them to the <see cref="Engine"/>, steps it while anything waits or runs, and writes each
/// request's chunks to that request's own channel. A caller that cancels (a client that disconnects) has its
/// sequence aborted at the next step, which frees its KV pages. The engine itself is only touched by the loop thread.
/// </summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly Engine _engine;
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<int, Channel<GeneratedChunk>> _outputs = [];
    private readonly Thread _loop;
    private readonly CancellationTokenSource _stop = new();
    private int _queued;   // submitted, not yet finished (waiting or running in the engine, or on their way to it)

    private abstract record Command;
    private sealed record Submit(GenerationRequest Request, Channel<GeneratedChunk> Output, TaskCompletionSource<int> Accepted) : Command;
    private sealed record Cancel(int Id) : Command;

    /// <param name="maxPending">Most requests admitted into the host at once (running plus waiting); more are refused with <see cref="EngineBusyException"/>.</param>
    public EngineHost(Engine engine, int maxPending = 256)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPending, 1);
        MaxPending = maxPending;
        _loop = new Thread(RunLoop) { IsBackground = true, Name = "sdar-engine" };
        _loop.Start();
    }

    public int MaxPending { get; }

    /// <summary>The engine; only the loop thread may call it (others may read its pool's counters when it is idle).</summary>
    internal Engine Engine => _engine;

    /// <summary>Requests in the host now (waiting or running).</summary>
    public int Pending => Volatile.Read(ref _queued);

    /// <summary>Waiting and running sequences and KV pages in use, as the loop last saw them (for metrics).</summary>
    public (int Waiting, int Running, int PagesInUse, int PageCount) Snapshot { get; private set; }

    /// <summary>Totals since the host started, as the loop last saw them (for metrics).</summary>
    public EngineTotals Totals { get; private set; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>
    /// Queues a request and streams its chunks as blocks become final; the last chunk carries the result.
    /// Throws <see cref="ArgumentException"/> (a <see cref="GenerationOptionException"/> for an option) before the
    /// first chunk when the engine refuses the request, and <see cref="EngineBusyException"/> when the host is full.
    /// Cancelling <paramref name="cancellationToken"/> aborts the sequence.
    /// </summary>
    public async Task<IAsyncEnumerable<GeneratedChunk>> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Interlocked.Increment(ref _queued) > MaxPending)
        {
            Interlocked.Decrement(ref _queued);
            throw new EngineBusyException($"the server is busy: {MaxPending} requests are already queued or running");
        }
        var output = Channel.CreateUnbounded<GeneratedChunk>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        var accepted = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _commands.Writer.WriteAsync(new Submit(request, output, accepted), cancellationToken).ConfigureAwait(false);
            int id = await accepted.Task.ConfigureAwait(false);
            // Cancelling aborts the sequence even when the stream is never read (e.g. choice 0 of a request whose
            // choice 1 was refused): the reader's own clean-up only runs once reading has started.
            var registration = cancellationToken.Register(() => _commands.Writer.TryWrite(new Cancel(id)));
            return Read(id, output, registration, cancellationToken);
        }
        catch
        {
            if (!accepted.Task.IsCompletedSuccessfully) Interlocked.Decrement(ref _queued);
            throw;
        }
    }

    private async IAsyncEnumerable<GeneratedChunk> Read(int id, Channel<GeneratedChunk> output, CancellationTokenRegistration registration,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var _ = registration;
        bool finished = false;
        try
        {
            await foreach (var chunk in output.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunk.IsFinal) finished = true;
                yield return chunk;
            }
        }
        finally
        {
            // Cancelled, or the caller stopped reading early: the sequence must not keep its pages.
            if (!finished) _commands.Writer.TryWrite(new Cancel(id));
        }
    }

    private void RunLoop()
    {
        var reader = _commands.Reader;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                // Idle: block until a command comes. Busy: take what has come, then step.
                if (!_engine.HasPendingWork && !reader.TryPeek(out _))
                {
                    if (!reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) break;
                }
                while (reader.TryRead(out var command)) Handle(command);
                if (!_engine.HasPendingWork) continue;
                EngineStep step;
                try
                {
                    step = _engine.Step();
                }
                catch (Exception error)
                {
                    FailAll(error);
                    continue;
                }
                foreach (var chunk in step.Chunks)
                    if (_outputs.TryGetValue(chunk.SequenceIndex, out var output)) output.Writer.TryWrite(chunk);
                long generated = 0, denoise = 0, failed = 0;
                foreach (var sequence in step.Ended)
                {
                    if (sequence.Result is { } result)
                    {
                        generated += result.GeneratedTokenCount;
                        denoise += result.Nfe.Denoise;
                    }
                    if (sequence.Status == SequenceStatus.Failed) failed++;
                    if (_outputs.Remove(sequence.Id, out var output))
                    {
                        output.Writer.TryComplete(sequence.Status == SequenceStatus.Failed ? sequence.Error : null);
                        Interlocked.Decrement(ref _queued);
                    }
                }
                var totals = Totals;
                Totals = new EngineTotals(_engine.Forwards, _engine.ForwardTokens, totals.GeneratedTokens + generated,
                    totals.DenoiseForwards + denoise, totals.Failed + failed, _engine.Scheduler.Preemptions);
                Snapshot = (_engine.Scheduler.WaitingCount, _engine.Scheduler.RunningCount, _engine.KvPool.UsedPageCount, _engine.KvPool.PageCount);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        var stopped = new ObjectDisposedException(nameof(EngineHost), "the engine host stopped");
        FailAll(stopped);
        while (reader.TryRead(out var left))
            if (left is Submit submit) submit.Accepted.TrySetException(stopped);   // SubmitAsync gives its slot back
    }

    private void Handle(Command command)
    {
        switch (command)
        {
            case Submit submit:
                try
                {
                    int id = _engine.Add(submit.Request);
                    _outputs[id] = submit.Output;
                    submit.Accepted.TrySetResult(id);
                }
                catch (Exception error)
                {
                    submit.Accepted.TrySetException(error);
                }
                break;
            case Cancel cancel:
                if (_engine.Abort(cancel.Id) && _outputs.Remove(cancel.Id, out var output))
                {
                    output.Writer.TryComplete(new OperationCanceledException("the request was cancelled"));
                    Interlocked.Decrement(ref _queued);
                }
                break;
        }
    }

    /// <summary>An engine error outside any one sequence: every request in flight ends with it; the loop goes on.</summary>
    private void FailAll(Exception error)
    {
        foreach (var (id, output) in _outputs)
        {
            _engine.Abort(id);
            output.Writer.TryComplete(error);
            Interlocked.Decrement(ref _queued);
        }
        _outputs.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _commands.Writer.TryComplete();
        await Task.Run(() => _loop.Join()).ConfigureAwait(false);
        _stop.Dispose();
    }
}
