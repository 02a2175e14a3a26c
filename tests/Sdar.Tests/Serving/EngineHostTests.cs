using Sdar.Decoding;
using Sdar.Serving;
using Sdar.Tests.Decoding;

namespace Sdar.Tests.Serving;

public sealed class EngineHostTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 20, Temperature = 0, IgnoreEos = true };

    private static async Task<GenerationResult> Collect(IAsyncEnumerable<GeneratedChunk> chunks)
    {
        var tokens = new List<int>();
        GenerationResult? result = null;
        await foreach (var chunk in chunks)
        {
            tokens.AddRange(chunk.TokenIds);
            result = chunk.Result ?? result;
        }
        Assert.NotNull(result);
        Assert.Equal(result.TokenIds, tokens);
        return result;
    }

    [Fact]
    public async Task Concurrent_callers_share_one_engine_and_each_gets_its_tokens_alone()
    {
        var model = EngineTestModels.TinySdar;
        var engine = new Engine(model, new EngineOptions { MaxRunningSequences = 4, PageSize = 8 });
        await using var host = new EngineHost(engine);
        var requests = Enumerable.Range(0, 10)
            .Select(i => new GenerationRequest(Enumerable.Range(1, 3 + i).ToArray(), Greedy with { BlockLength = i % 2 == 0 ? 4 : 8, MaxNewTokens = 8 + i }))
            .ToArray();
        var results = await Task.WhenAll(requests.Select(async r => await Collect(await host.SubmitAsync(r))));
        for (int i = 0; i < requests.Length; i++)
            Assert.Equal(Generator.For(model).Generate(requests[i].PromptIds, requests[i].Options).TokenIds, results[i].TokenIds);
        Assert.Equal(0, host.Pending);
    }

    [Fact]
    public async Task A_refused_request_throws_at_submit_and_a_cancelled_one_frees_its_pages()
    {
        var engine = new Engine(EngineTestModels.TinySdar, new EngineOptions { PageSize = 8 });
        await using var host = new EngineHost(engine);
        var error = await Assert.ThrowsAsync<GenerationOptionException>(() => host.SubmitAsync(new GenerationRequest([1, 2], Greedy with { TopP = 2 })));
        Assert.Equal("top_p", error.Field);

        using var cancel = new CancellationTokenSource();
        var stream = await host.SubmitAsync(new GenerationRequest([1, 2, 3], Greedy with { MaxNewTokens = 400 }), cancel.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in stream)
                if (chunk.TokenIds.Length > 0) cancel.Cancel();
        });
        for (int i = 0; i < 100 && (host.Pending > 0 || engine.KvPool.UsedPageCount > 0); i++) await Task.Delay(20);
        Assert.Equal(0, host.Pending);
        Assert.Equal(0, engine.KvPool.UsedPageCount);
    }

    [Fact]
    public async Task Past_the_queue_limit_the_host_is_busy()
    {
        // The model's forwards wait for the gate, so the first two requests are surely still pending at the third.
        using var gate = new ManualResetEventSlim(false);
        var engine = new Engine(new GatedModel(EngineTestModels.TinySdar, gate), new EngineOptions { MaxRunningSequences = 1, PageSize = 8 });
        await using var host = new EngineHost(engine, maxPending: 2);
        var first = await host.SubmitAsync(new GenerationRequest([1, 2, 3], Greedy with { MaxNewTokens = 200 }));
        var second = await host.SubmitAsync(new GenerationRequest([4, 5, 6], Greedy with { MaxNewTokens = 200 }));
        await Assert.ThrowsAsync<EngineBusyException>(() => host.SubmitAsync(new GenerationRequest([7], Greedy)));
        gate.Set();
        await Collect(first);
        await Collect(second);
        var third = await Collect(await host.SubmitAsync(new GenerationRequest([7], Greedy)));
        Assert.Equal(20, third.TokenIds.Length);
    }

    [Fact]
    public async Task Cancelling_a_stream_that_was_never_read_still_frees_its_pages()
    {
        var engine = new Engine(EngineTestModels.TinySdar, new EngineOptions { PageSize = 8 });
        await using var host = new EngineHost(engine);
        using var cancel = new CancellationTokenSource();
        _ = await host.SubmitAsync(new GenerationRequest([1, 2, 3], Greedy with { MaxNewTokens = 400 }), cancel.Token);
        for (int i = 0; i < 100 && engine.KvPool.UsedPageCount == 0; i++) await Task.Delay(10);
        cancel.Cancel();
        for (int i = 0; i < 100 && (host.Pending > 0 || engine.KvPool.UsedPageCount > 0); i++) await Task.Delay(20);
        Assert.Equal(0, host.Pending);
        Assert.Equal(0, engine.KvPool.UsedPageCount);
    }

    /// <summary>A model whose forwards wait until the gate opens.</summary>
    private sealed class GatedModel(global::Sdar.Model.ILanguageModel inner, ManualResetEventSlim gate) : global::Sdar.Model.ILanguageModel
    {
        public global::Sdar.Config.ModelConfig Config => inner.Config;

        public float[][] Forward(IReadOnlyList<global::Sdar.Model.SequenceInput> batch)
        {
            gate.Wait(TimeSpan.FromMinutes(1));
            return inner.Forward(batch);
        }
    }
}
