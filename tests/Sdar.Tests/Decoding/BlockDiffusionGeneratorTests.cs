using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

public class BlockDiffusionGeneratorTests
{
    private const int Eos = FakeConfigs.Eos, Mask = FakeConfigs.Mask;

    /// <summary>Predicts token (5p + 3) mod 14 at position p with a fixed confidence (never EOS or MASK).</summary>
    private static ScriptedModel Fixed(double confidence, int blockSize = 4, int? eosAt = null) =>
        new(FakeConfigs.Sdar(blockSize), (p, _, row) => Rows.Peaked(row, p == eosAt ? Eos : Token(p), confidence));

    private static int Token(int position) => (position * 5 + 3) % 14;

    private static int[] Prompt(int length) => Enumerable.Range(0, length).Select(i => (i * 3 + 1) % 14).ToArray();

    // These tests pin the official loop (a commit forward per block); FusedCommitTests cover the fused one.
    private static GenerationOptions Greedy(string strategy, int maxNewTokens, int? steps = null, int? block = null) => new()
    {
        Strategy = strategy, MaxNewTokens = maxNewTokens, DenoisingSteps = steps, BlockLength = block,
        Temperature = 0, RecordTrace = true, FusedCommit = false,
    };

    [Fact]
    public void Prefill_stores_the_prompts_full_blocks_and_the_first_block_keeps_the_prompts_tail()
    {
        var model = Fixed(0.5);
        var prompt = Prompt(5);
        new BlockDiffusionGenerator(model).Generate(prompt, Greedy("low_confidence_static", 8));

        var prefill = Assert.Single(model.Calls[0].Inputs);
        Assert.Equal(AttentionKind.BlockCausal, model.Calls[0].Attention);
        Assert.Equal(4, model.Calls[0].BlockLength);
        Assert.Equal(prompt[..4], prefill.Tokens);
        Assert.True(prefill.StoreKv);
        Assert.Equal(LogitsKind.None, prefill.Logits);

        var firstDenoise = Assert.Single(model.Calls[1].Inputs);
        Assert.Equal([prompt[4], Mask, Mask, Mask], firstDenoise.Tokens);
        Assert.Equal(4, firstDenoise.CacheLength);
        Assert.False(firstDenoise.StoreKv);
        Assert.Equal(LogitsKind.All, firstDenoise.Logits);
    }

    [Fact]
    public void Prefill_is_skipped_when_the_prompt_fills_no_whole_block()
    {
        var model = Fixed(0.5);
        var result = new BlockDiffusionGenerator(model).Generate(Prompt(3), Greedy("sequential", 5));
        var first = Assert.Single(model.Calls[0].Inputs);
        Assert.Equal([.. Prompt(3), Mask], first.Tokens);
        Assert.Equal(0, first.CacheLength);
        Assert.False(first.StoreKv);
        // Blocks 0 (1 mask) and 1 (4 masks), one token per step, one commit each: no prefill.
        Assert.Equal(new NfeCount(5, 7), result.Nfe);
    }

    [Fact]
    public void Each_block_is_denoised_without_storing_then_committed_once()
    {
        var model = Fixed(0.5);
        new BlockDiffusionGenerator(model).Generate(Prompt(4), Greedy("low_confidence_static", 8));
        // prefill, 4 denoise + commit (block 1), 4 denoise + commit (block 2)
        var pattern = model.Calls.Select(c => (c.Inputs[0].StoreKv, c.Inputs[0].Logits, c.Inputs[0].CacheLength)).ToArray();
        var denoise1 = Enumerable.Repeat((false, LogitsKind.All, 4), 4);
        var denoise2 = Enumerable.Repeat((false, LogitsKind.All, 8), 4);
        Assert.Equal(
            [(true, LogitsKind.None, 0), .. denoise1, (true, LogitsKind.None, 4), .. denoise2, (true, LogitsKind.None, 8)],
            pattern);
        Assert.Equal([Token(4), Token(5), Token(6), Token(7)], model.Calls[5].Inputs[0].Tokens);
    }

    [Fact]
    public void Committed_tokens_and_the_prompt_are_never_overwritten()
    {
        // The prediction at every position changes whenever the number of visible masks does, and the prompt
        // positions are predicted too: a decoder that rewrote anything would show it.
        var model = new ScriptedModel(FakeConfigs.Sdar(), (p, visible, row) =>
            Rows.Peaked(row, (p + Rows.Masks(visible)) % 14, 0.3 + (p * 7 % 10) / 20.0));
        var prompt = Prompt(6);
        var result = new BlockDiffusionGenerator(model).Generate(prompt, Greedy("low_confidence_static", 10));

        var committed = result.Trace!.SelectMany(t => t.Commits).ToDictionary(c => c.Position, c => c.TokenId);
        Assert.Equal(10, committed.Count);   // every generated position committed exactly once
        Assert.Equal(Enumerable.Range(6, 10).Select(p => committed[p]), result.TokenIds);
        foreach (var input in model.Calls.SelectMany(c => c.Inputs))
            for (int i = 0; i < input.Tokens.Length; i++)
            {
                int position = input.CacheLength + i;
                if (position < prompt.Length) Assert.Equal(prompt[position], input.Tokens[i]);
                else if (input.Tokens[i] != Mask) Assert.Equal(committed[position], input.Tokens[i]);
            }
    }

    [Fact]
    public void A_stop_token_ends_generation_and_the_answer_is_cut_there()
    {
        var model = Fixed(0.99, eosAt: 10);
        var result = new BlockDiffusionGenerator(model, defaultStopTokenIds: [Eos]).Generate(Prompt(5), Greedy("low_confidence_dynamic", 32));
        Assert.Equal(StopReason.StopToken, result.StopReason);
        Assert.Equal(Eos, result.StopTokenId);
        Assert.Equal([Token(5), Token(6), Token(7), Token(8), Token(9)], result.TokenIds);
        // prefill + block 1 (one confident step + commit) + block 2 (the same); nothing after the stop block.
        Assert.Equal(new NfeCount(2, 5), result.Nfe);
        Assert.Equal(6, result.GeneratedTokenCount);
        Assert.Equal(3.0, result.TokensPerForward);
    }

    [Fact]
    public void Stop_ids_given_in_the_options_stop_too() =>
        Assert.Equal(StopReason.StopToken, new BlockDiffusionGenerator(Fixed(0.99, eosAt: 10))
            .Generate(Prompt(5), Greedy("low_confidence_dynamic", 32) with { StopTokenIds = [Eos] }).StopReason);

    [Fact]
    public void Ignore_eos_generates_exactly_max_new_tokens()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.99, eosAt: 10), [Eos])
            .Generate(Prompt(5), Greedy("low_confidence_dynamic", 32) with { IgnoreEos = true });
        Assert.Equal(StopReason.Length, result.StopReason);
        Assert.Equal(32, result.TokenIds.Length);
        Assert.Equal(Eos, result.TokenIds[10 - 5]);
    }

    [Fact]
    public void A_stop_token_past_max_new_tokens_is_ignored_and_the_overhang_is_cut()
    {
        // P=5, 4 new tokens: positions 5..8; the last block (8..11) overhangs and predicts EOS at 10.
        var result = new BlockDiffusionGenerator(Fixed(0.99, eosAt: 10), [Eos]).Generate(Prompt(5), Greedy("low_confidence_dynamic", 4));
        Assert.Equal(StopReason.Length, result.StopReason);
        Assert.Null(result.StopTokenId);
        Assert.Equal([Token(5), Token(6), Token(7), Token(8)], result.TokenIds);
    }

    [Fact]
    public void Steps_follow_the_schedule_when_block_length_is_not_a_multiple_of_steps()
    {
        // B=8, S=3: n_step = 3, 3, 2. Block 1 holds 2 prompt tokens, so its 6 masks take steps of 3 and 3.
        var result = new BlockDiffusionGenerator(Fixed(0.5, blockSize: 8)).Generate(Prompt(10), Greedy("low_confidence_static", 14, steps: 3));
        Assert.Equal([3, 3, 3, 3, 2], result.CommitsPerStep);
        Assert.Equal([(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)], result.Trace!.Select(t => (t.Block, t.Step)));
        Assert.Equal(new NfeCount(5, 8), result.Nfe);
    }

    [Fact]
    public void Sequential_fills_each_block_left_to_right()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.5)).Generate(Prompt(2), Greedy("sequential", 6, steps: 2));
        Assert.Equal([[2, 3], [4, 5], [6, 7]], result.Trace!.Select(t => t.Commits.Select(c => c.Position).ToArray()));
    }

    [Fact]
    public void Dynamic_strategy_commits_a_whole_confident_block_in_one_step()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.99)).Generate(Prompt(4), Greedy("low_confidence_dynamic", 8));
        Assert.Equal([4, 4], result.CommitsPerStep);
        Assert.Equal(new NfeCount(2, 5), result.Nfe);
        Assert.Equal(4.0, result.TokensPerForward);
        Assert.All(result.Trace!.SelectMany(t => t.Commits), c => Assert.Equal(0.99f, c.Confidence, 4));
    }

    [Fact]
    public void Dynamic_strategy_falls_back_to_n_step_when_nothing_is_confident()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.3)).Generate(Prompt(4), Greedy("low_confidence_dynamic", 8, steps: 2));
        Assert.Equal([2, 2, 2, 2], result.CommitsPerStep);
    }

    [Fact]
    public void Entropy_bounded_commits_at_least_one_token_per_step_past_the_step_budget()
    {
        // Uncertain rows: every entropy exceeds the budget, so one position per step, 4 steps per block although S=2.
        var result = new BlockDiffusionGenerator(Fixed(0.3)).Generate(Prompt(4),
            Greedy("entropy_bounded", 8, steps: 2) with { EbThreshold = 0.35 });
        Assert.Equal(Enumerable.Repeat(1, 8), result.CommitsPerStep);
        Assert.Equal(new NfeCount(8, 11), result.Nfe);
    }

    [Fact]
    public void Entropy_bounded_commits_a_certain_block_at_once()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.99999)).Generate(Prompt(4), Greedy("entropy_bounded", 8));
        Assert.Equal([4, 4], result.CommitsPerStep);
    }

    [Fact]
    public void Streaming_yields_each_block_when_it_is_final_and_ends_with_the_result()
    {
        var chunks = new BlockDiffusionGenerator(Fixed(0.5)).Stream(Prompt(5), Greedy("low_confidence_static", 10)).ToList();
        Assert.Equal([3, 4, 3, 0], chunks.Select(c => c.TokenIds.Length));
        Assert.All(chunks[..^1], c => Assert.False(c.IsFinal));
        var result = chunks[^1].Result!;
        Assert.Equal(chunks.SelectMany(c => c.TokenIds), result.TokenIds);
        Assert.Equal(Enumerable.Range(5, 10).Select(Token), result.TokenIds);
    }

    [Fact]
    public async Task Async_streaming_yields_the_same_chunks()
    {
        var generator = new BlockDiffusionGenerator(Fixed(0.5));
        var options = Greedy("low_confidence_static", 10);
        var chunks = new List<GeneratedChunk>();
        await foreach (var chunk in generator.StreamAsync(Prompt(5), options)) chunks.Add(chunk);
        var expected = generator.Stream(Prompt(5), options).ToList();
        Assert.Equal(expected.Select(c => c.TokenIds), chunks.Select(c => c.TokenIds));
        Assert.Equal(expected[^1].Result!.TokenIds, chunks[^1].Result!.TokenIds);
    }

    [Fact]
    public void Sampling_is_reproducible_with_a_seed()
    {
        // A flat distribution over the 14 ordinary tokens: the draws are all the RNG's doing.
        var model = new ScriptedModel(FakeConfigs.Sdar(), (_, _, row) => { row.Clear(); row[Eos] = -30; row[Mask] = -30; });
        var generator = new BlockDiffusionGenerator(model);
        GenerationResult Run(long seed) => generator.Generate(Prompt(5),
            new GenerationOptions { MaxNewTokens = 24, Temperature = 1, TopP = 0.95, Seed = seed });
        var a = Run(7);
        Assert.Equal(7, a.Seed);
        Assert.Equal(a.TokenIds, Run(7).TokenIds);
        Assert.NotEqual(a.TokenIds, Run(8).TokenIds);
        Assert.DoesNotContain(Mask, a.TokenIds);
    }

    [Fact]
    public void Cancellation_stops_generation_between_forwards()
    {
        using var cancel = new CancellationTokenSource();
        var model = Fixed(0.5);
        model.OnForward = n => { if (n == 3) cancel.Cancel(); };
        var generator = new BlockDiffusionGenerator(model);
        Assert.ThrowsAny<OperationCanceledException>(() => generator.Generate(Prompt(5), Greedy("sequential", 32), cancel.Token));
        Assert.Equal(4, model.Calls.Count);
    }

    [Fact]
    public void Bad_requests_fail_at_the_call_not_at_the_first_chunk()
    {
        var generator = new BlockDiffusionGenerator(Fixed(0.5));
        var mask = Assert.Throws<ArgumentException>(() => generator.Stream([1, Mask, 2], new GenerationOptions()));
        Assert.Contains("mask token", mask.Message);
        Assert.Throws<ArgumentException>(() => generator.Stream([1, 99], new GenerationOptions()));
        Assert.Throws<GenerationOptionException>(() => generator.Stream([1], new GenerationOptions { DenoisingSteps = 9 }));
    }

    [Fact]
    public void Metrics_count_generated_tokens_over_wall_time()
    {
        var result = new BlockDiffusionGenerator(Fixed(0.99)).Generate(Prompt(4), Greedy("low_confidence_dynamic", 8));
        Assert.True(result.Elapsed > TimeSpan.Zero);
        Assert.Equal(8 / result.Elapsed.TotalSeconds, result.TokensPerSecond, 6);
    }
}
