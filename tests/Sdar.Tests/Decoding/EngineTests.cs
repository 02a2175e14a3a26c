using Sdar.Checkpoints;
using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

/// <summary>
/// The engine against the strongest check there is: every request, whatever else runs beside it, arrives,
/// is preempted or hits the prefix cache, gets exactly the tokens it gets alone.
/// </summary>
public sealed class EngineTests
{
    private static readonly Lazy<FastModel> Sdar = new(() => EngineTestModels.TinySdar);
    private static readonly Lazy<FastModel> Qwen3 = new(() => EngineTestModels.TinyQwen3);
    private const int Eos = 510;

    private static int[] RandomPrompt(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => random.Next(0, 500)).ToArray();

    /// <summary>Mixed block lengths, step budgets, strategies, sampling, seeds and commit modes.</summary>
    private static List<GenerationRequest> MixedRequests(Random random, int count, bool diffusion)
    {
        string[] strategies = [.. UnmaskingStrategies.Names];
        var requests = new List<GenerationRequest>();
        for (int i = 0; i < count; i++)
        {
            int block = new[] { 2, 4, 8 }[random.Next(3)];
            bool sampled = random.Next(2) == 0;
            requests.Add(new GenerationRequest(RandomPrompt(random, random.Next(1, 41)), new GenerationOptions
            {
                MaxNewTokens = random.Next(6, 25),
                BlockLength = diffusion ? block : null,
                DenoisingSteps = diffusion ? random.Next(1, block + 1) : null,
                Strategy = strategies[random.Next(strategies.Length)],
                ConfidenceThreshold = 0.6, EbThreshold = 0.8,
                Temperature = sampled ? 0.8 : 0, TopK = sampled ? 40 : 0, TopP = sampled ? 0.95 : 1,
                Seed = random.Next(),
                IgnoreEos = random.Next(2) == 0,
                FusedCommit = random.Next(2) == 0,
                RecordTrace = true,
            }));
        }
        return requests;
    }

    private static GenerationResult Alone(ILanguageModel model, GenerationRequest request) =>
        Generator.For(model, [Eos]).Generate(request.PromptIds, request.Options);

    private static void AssertSameAsAlone(ILanguageModel model, GenerationRequest request, GenerationResult result)
    {
        var alone = Alone(model, request);
        Assert.Equal(alone.TokenIds, result.TokenIds);
        Assert.Equal(alone.StopReason, result.StopReason);
        Assert.Equal(alone.CommitsPerStep, result.CommitsPerStep);
        Assert.Equal(alone.Nfe.Denoise, result.Nfe.Denoise);
    }

    /// <summary>Adds requests at random steps, aborts some midway, and returns the results of the others by request index.</summary>
    private static Dictionary<int, GenerationResult> RunWithRandomArrivals(Engine engine, List<GenerationRequest> requests, Random random,
        HashSet<int> toAbort)
    {
        var results = new Dictionary<int, GenerationResult>();
        var indexOfId = new Dictionary<int, int>();
        var aborted = new HashSet<int>();
        int next = 0, steps = 0;
        while (next < requests.Count || engine.HasPendingWork)
        {
            while (next < requests.Count && (!engine.HasPendingWork || random.NextDouble() < 0.3))
            {
                indexOfId[engine.Add(requests[next])] = next;
                next++;
            }
            var step = engine.Step();
            steps++;
            foreach (var sequence in step.Ended)
            {
                Assert.Equal(SequenceStatus.Finished, sequence.Status);
                results[indexOfId[sequence.Id]] = sequence.Result!;
            }
            foreach (var chunk in step.Chunks) Assert.DoesNotContain(chunk.SequenceIndex, aborted);
            // Abort a marked request once it has produced something (or while it waits, every other one).
            foreach (var (id, sequence) in engine.Sequences.ToArray())
                if (toAbort.Contains(indexOfId[id]) && (sequence.GeneratedTokenCount > 0 || id % 2 == 0))
                {
                    Assert.True(engine.Abort(id));
                    aborted.Add(id);
                    Assert.Equal(SequenceStatus.Aborted, sequence.Status);
                    Assert.False(engine.Abort(id));
                }
            Assert.True(engine.KvPool.UsedPageCount <= engine.KvPool.PageCount);
        }
        Assert.True(steps > 0);
        return results;
    }

    private static void AssertPoolIsWhole(Engine engine)
    {
        var pool = engine.KvPool;
        Assert.Equal(pool.PageCount, pool.FreePageCount);
        Assert.True(pool.PeakUsedPageCount <= pool.PageCount);
        Assert.True(pool.MaterialisedPageCount <= pool.PageCount);
    }

    [Theory]
    [InlineData(true, 11)]
    [InlineData(false, 12)]
    public void Requests_arriving_at_random_steps_get_the_tokens_they_get_alone(bool diffusion, int seed)
    {
        var model = diffusion ? Sdar.Value : Qwen3.Value;
        var random = new Random(seed);
        var requests = MixedRequests(random, 12, diffusion);
        var toAbort = new HashSet<int> { 3, 8 };
        var engine = new Engine(model, new EngineOptions { MaxRunningSequences = 4, MaxTokensPerForward = 40, PageSize = 8 }, [Eos]);
        var results = RunWithRandomArrivals(engine, requests, random, toAbort);
        Assert.Equal(requests.Count - toAbort.Count, results.Count);
        foreach (var (index, result) in results) AssertSameAsAlone(model, requests[index], result);
        AssertPoolIsWhole(engine);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_kv_budget_that_forces_preemption_changes_no_token(bool diffusion)
    {
        var model = diffusion ? Sdar.Value : Qwen3.Value;
        var random = new Random(5);
        var requests = MixedRequests(random, 8, diffusion)
            .Select(r => r with { Options = r.Options with { IgnoreEos = true, MaxNewTokens = 24 } }).ToList();
        // Room for the largest request alone (40 + 24 rounded to blocks of 8 = 64 positions) and little more.
        var engine = new Engine(model, new EngineOptions { MaxRunningSequences = 8, MaxTokensPerForward = 64, PageSize = 8, KvCacheTokens = 80 }, [Eos]);
        var results = RunWithRandomArrivals(engine, requests, random, new HashSet<int>());
        Assert.True(engine.Scheduler.Preemptions > 0, "the budget was meant to force preemptions");
        Assert.Equal(10, engine.KvPool.PageCount);
        foreach (var (index, result) in results) AssertSameAsAlone(model, requests[index], result);
        AssertPoolIsWhole(engine);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_second_request_with_the_same_long_prefix_hits_the_prefix_cache(bool diffusion)
    {
        var model = diffusion ? Sdar.Value : Qwen3.Value;
        var random = new Random(9);
        var system = RandomPrompt(random, 50);
        var options = new GenerationOptions { MaxNewTokens = 12, BlockLength = diffusion ? 4 : null, Temperature = 0, IgnoreEos = true, RecordTrace = true };
        var first = new GenerationRequest([.. system, 7, 8, 9], options);
        var second = new GenerationRequest([.. system, 11, 12], options);
        var engine = new Engine(model, new EngineOptions { PageSize = 16 }, [Eos]);

        int a = engine.Add(first);
        var resultA = Drain(engine)[a];
        Assert.Equal(0, engine.KvPool.PrefixHits);
        int b = engine.Add(second);
        var sequenceB = engine.Sequences[b];
        var resultB = Drain(engine)[b];

        // 50 shared tokens: 3 full pages of 16 (diffusion: inside the prompt's full blocks; AR: before the last prompt token).
        Assert.Equal(3, engine.KvPool.PrefixHits);
        Assert.Equal(48, sequenceB.PrefixCachedTokens);
        AssertSameAsAlone(model, first, resultA);
        AssertSameAsAlone(model, second, resultB);
        AssertPoolIsWhole(engine);
        Assert.True(engine.KvPool.CachedPageCount >= 3, "prompt pages stay cached after their sequences end");

        if (diffusion)
        {
            // Block-causal K/V depend on B: the same prefix with B = 8 must not take the B = 4 pages.
            long hits = engine.KvPool.PrefixHits;
            int c = engine.Add(second with { Options = options with { BlockLength = 8 } });
            var sequenceC = engine.Sequences[c];
            Drain(engine);
            Assert.Equal(hits, engine.KvPool.PrefixHits);
            Assert.Equal(0, sequenceC.PrefixCachedTokens);
        }
    }

    private static Dictionary<int, GenerationResult> Drain(Engine engine)
    {
        var results = new Dictionary<int, GenerationResult>();
        while (engine.HasPendingWork)
            foreach (var sequence in engine.Step().Ended) results[sequence.Id] = sequence.Result!;
        return results;
    }

    /// <summary>Records which caches each forward carried and how many tokens each.</summary>
    private sealed class RecordingModel(ILanguageModel inner) : ILanguageModel
    {
        public List<(KvCache Cache, int Tokens)[]> Forwards { get; } = [];
        public Sdar.Config.ModelConfig Config => inner.Config;

        public float[][] Forward(IReadOnlyList<SequenceInput> batch)
        {
            Forwards.Add(batch.Select(i => (i.Cache, i.Tokens.Length)).ToArray());
            return inner.Forward(batch);
        }
    }

    [Fact]
    public void A_long_prompt_is_prefilled_in_chunks_without_stalling_a_sequence_that_decodes()
    {
        var model = new RecordingModel(Sdar.Value);
        var options = new GenerationOptions { MaxNewTokens = 24, BlockLength = 4, Temperature = 0, IgnoreEos = true };
        var engine = new Engine(model, new EngineOptions { MaxTokensPerForward = 24, PageSize = 8 }, [Eos]);
        int decoding = engine.Add([5, 6, 7], options);
        engine.Step();
        var decodingCache = engine.Sequences[decoding].Cache!;
        var longPrompt = new GenerationRequest(RandomPrompt(new Random(3), 200), options);
        int prefilling = engine.Add(longPrompt);
        var results = Drain(engine);

        var withDecoder = model.Forwards.Skip(1).TakeWhile(f => f.Any(i => ReferenceEquals(i.Cache, decodingCache))).Count();
        int decoderForwards = results[decoding].Nfe.Total;
        Assert.Equal(decoderForwards - 1, withDecoder);   // in every forward until it finished: never stalled
        Assert.All(model.Forwards, f => Assert.True(f.Sum(i => i.Tokens) <= 24));
        // 200 prompt tokens = 50 full blocks, in chunks of at most 24 tokens minus what the decoder took.
        Assert.True(results[prefilling].Nfe.Total - results[prefilling].Nfe.Denoise >= 200 / 24);
        AssertSameAsAlone(Sdar.Value, new GenerationRequest([5, 6, 7], options), results[decoding]);
        AssertSameAsAlone(Sdar.Value, longPrompt, results[prefilling]);
    }

    [Fact]
    public void Aborting_frees_the_pages_and_ends_the_stream_of_that_request_only()
    {
        var model = Sdar.Value;
        var options = new GenerationOptions { MaxNewTokens = 32, Temperature = 0, IgnoreEos = true };
        var engine = new Engine(model, new EngineOptions { MaxRunningSequences = 2, PageSize = 8 }, [Eos]);
        int running = engine.Add([1, 2, 3, 4, 5], options);
        int other = engine.Add([6, 7, 8], options);
        int waiting = engine.Add([9, 10], options);
        var first = engine.Step().Chunks;
        Assert.Equal(SequenceStatus.Running, engine.Sequences[running].Status);
        Assert.Equal(SequenceStatus.Waiting, engine.Sequences[waiting].Status);
        Assert.True(engine.KvPool.UsedPageCount > 0);
        Assert.True(engine.Abort(waiting));
        Assert.True(engine.Abort(running));
        Assert.False(engine.Abort(12345));
        var rest = new List<GeneratedChunk>();
        while (engine.HasPendingWork) rest.AddRange(engine.Step().Chunks);
        Assert.All(rest, c => Assert.Equal(other, c.SequenceIndex));
        Assert.Equal(32, first.Concat(rest).Where(c => c.SequenceIndex == other).Sum(c => c.TokenIds.Length));
        AssertPoolIsWhole(engine);
    }

    [Fact]
    public void A_request_larger_than_the_whole_kv_budget_is_refused_at_add()
    {
        var engine = new Engine(Sdar.Value, new EngineOptions { PageSize = 8, KvCacheTokens = 32 });
        var error = Assert.Throws<GenerationOptionException>(() => engine.Add([1, 2, 3], new GenerationOptions { MaxNewTokens = 64 }));
        Assert.Equal("max_new_tokens", error.Field);
        Assert.Equal("64", error.Given);
        Assert.Contains("MaxNewTokens (max_new_tokens) 64", error.Message);
        Assert.Contains("KV budget holds 32", error.Message);
        Assert.False(engine.HasPendingWork);
    }

    [Fact]
    public void Bf16_pages_take_half_the_memory_and_still_decode()
    {
        var f32 = new Engine(Sdar.Value, new EngineOptions { PageSize = 16, KvCacheTokens = 1024 });
        var bf16 = new Engine(Sdar.Value, new EngineOptions { PageSize = 16, KvCacheTokens = 1024, KvStorage = KvStorage.BF16 });
        Assert.Equal(f32.KvPool.BudgetBytes, 2 * bf16.KvPool.BudgetBytes);
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 0, IgnoreEos = true };
        int id = bf16.Add(Enumerable.Range(1, 40).ToArray(), options);
        var result = Drain(bf16)[id];
        Assert.Equal(16, result.TokenIds.Length);
        AssertPoolIsWhole(bf16);
    }
}

/// <summary>The golden tiny checkpoints as fast models, opened once for the test run (their weights are memory-mapped).</summary>
internal static class EngineTestModels
{
    private static readonly string GoldenDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden");
    private static readonly Lazy<FastModel> Sdar = new(() => Load("tiny-sdar"));
    private static readonly Lazy<FastModel> Qwen3 = new(() => Load("tiny-qwen3"));

    public static FastModel TinySdar => Sdar.Value;
    public static FastModel TinyQwen3 => Qwen3.Value;

    private static FastModel Load(string name) => new(Checkpoint.Open(Path.Combine(GoldenDir, name)).Weights);
}
