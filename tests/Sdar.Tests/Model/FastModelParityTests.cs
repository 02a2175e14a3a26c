using Sdar.Model;
using Sdar.Model.Kernels;

namespace Sdar.Tests.Model;

/// <summary>The fast engine against the reference implementation (DESIGN section 2), to 1e-4 relative on logits.</summary>
public class FastModelParityTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<bool, DType, bool> Models() => new()
    {
        { false, DType.BF16, false },
        { false, DType.F32, false },
        { false, DType.F16, true },
        { true, DType.BF16, false },
        { true, DType.F32, true },
    };

    internal static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / Math.Max(scale, 1e-6);
            Assert.True(error <= Tolerance, $"{what}: element {i}: expected {expected[i]}, got {actual[i]} (relative {error:E2})");
        }
    }

    private static int[] Tokens(int count, int seed, int vocab)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Prefill_then_cached_block_steps_match_the_reference(bool moe, DType dtype, bool tied)
    {
        var weights = TinyModels.Create(TinyModels.Config(moe, tied), dtype);
        var reference = new ReferenceModel(weights);
        var fast = new FastModel(weights);
        var refCache = new ContiguousKvCache(weights.Config, 4);
        var fastCache = new ContiguousKvCache(weights.Config, 4);
        var prompt = Tokens(8, 3, weights.Config.VocabSize);

        var expected = reference.Forward([new SequenceInput(prompt, refCache, true)], AttentionKind.BlockCausal, 4)[0];
        var actual = fast.Forward([new SequenceInput(prompt, fastCache, true)], AttentionKind.BlockCausal, 4)[0];
        AssertClose(expected, actual, "prefill");

        // A denoising step (not stored), then a commit (stored), then another step against the longer cache.
        var block = new[] { 5, 96, 96, 7 };
        AssertClose(reference.Forward([new SequenceInput(block, refCache, false)], AttentionKind.BlockCausal, 4)[0],
            fast.Forward([new SequenceInput(block, fastCache, false)], AttentionKind.BlockCausal, 4)[0], "block step");
        Assert.Equal(8, fastCache.Length);
        reference.Forward([new SequenceInput(block, refCache, true)], AttentionKind.BlockCausal, 4);
        fast.Forward([new SequenceInput(block, fastCache, true)], AttentionKind.BlockCausal, 4);
        var next = new[] { 96, 96, 96, 96 };
        AssertClose(reference.Forward([new SequenceInput(next, refCache, false)], AttentionKind.BlockCausal, 4)[0],
            fast.Forward([new SequenceInput(next, fastCache, false)], AttentionKind.BlockCausal, 4)[0], "step after commit");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Causal_forward_matches_the_reference(bool moe, DType dtype, bool tied)
    {
        var weights = TinyModels.Create(TinyModels.Config(moe, tied), dtype);
        var prompt = Tokens(11, 5, weights.Config.VocabSize);
        var expected = new ReferenceModel(weights).Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.Causal, 0)[0];
        var actual = new FastModel(weights).Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.Causal, 0)[0];
        AssertClose(expected, actual, "causal");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batched_sequences_match_the_reference_and_are_bit_identical_to_single_runs(bool moe)
    {
        var weights = TinyModels.Create(TinyModels.Config(moe), DType.BF16);
        var fast = new FastModel(weights);
        var reference = new ReferenceModel(weights);
        var prompts = new[] { Tokens(5, 1, 97), Tokens(9, 2, 97), Tokens(1, 3, 97), Tokens(6, 4, 97) };

        var batchCaches = prompts.Select(_ => new ContiguousKvCache(weights.Config)).ToArray();
        var batched = fast.Forward(prompts.Select((p, i) => new SequenceInput(p, batchCaches[i], true)).ToArray(), AttentionKind.BlockCausal, 4);
        for (int i = 0; i < prompts.Length; i++)
        {
            var single = fast.Forward([new SequenceInput(prompts[i], new ContiguousKvCache(weights.Config), true)], AttentionKind.BlockCausal, 4)[0];
            Assert.Equal(single, batched[i]);   // bit-identical: batch invariance
            var expected = reference.Forward([new SequenceInput(prompts[i], new ContiguousKvCache(weights.Config), true)], AttentionKind.BlockCausal, 4)[0];
            AssertClose(expected, batched[i], $"sequence {i}");
        }
    }

    [Fact]
    public void Vector256_fallback_matches_the_reference()
    {
        var weights = TinyModels.Create(TinyModels.Config(), DType.BF16);
        var prompt = Tokens(7, 9, 97);
        var expected = new ReferenceModel(weights).Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.BlockCausal, 4)[0];
        var narrow = new FastModel(weights, KernelSettings.Default with { UseVector512 = false });
        var actual = narrow.Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.BlockCausal, 4)[0];
        AssertClose(expected, actual, "vector256");
    }

    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    public void Wide_heads_use_the_vector_attention_tiles_and_match_the_reference(int headDim)
    {
        // head_dim 64 and 128 run the 4x64 weighted-value tiles (and their one-query remainder) instead of the scalar path.
        var weights = TinyModels.Create(TinyModels.Config(hidden: 128, headDim: headDim), DType.BF16);
        var reference = new ReferenceModel(weights);
        var fast = new FastModel(weights);
        var refCache = new ContiguousKvCache(weights.Config);
        var fastCache = new ContiguousKvCache(weights.Config);
        var prompt = Tokens(9, 11, 97);
        AssertClose(reference.Forward([new SequenceInput(prompt, refCache, true)], AttentionKind.Causal, 0)[0],
            fast.Forward([new SequenceInput(prompt, fastCache, true)], AttentionKind.Causal, 0)[0], "causal prefill");
        var step = new[] { 96 };
        AssertClose(reference.Forward([new SequenceInput(step, refCache, false)], AttentionKind.Causal, 0)[0],
            fast.Forward([new SequenceInput(step, fastCache, false)], AttentionKind.Causal, 0)[0], "one token");
        var block = new[] { 96, 96, 96 };
        AssertClose(reference.Forward([new SequenceInput(block, refCache, false)], AttentionKind.BlockCausal, 4)[0],
            fast.Forward([new SequenceInput(block, fastCache, false)], AttentionKind.BlockCausal, 4)[0], "block");
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 7)]
    [InlineData(64, 5)]
    [InlineData(64, 64)]
    [InlineData(64, 16)]
    [InlineData(32, 32)]
    public void Attention_reads_paged_caches_in_place_with_the_bits_of_a_contiguous_cache(int headDim, int pageSize)
    {
        // Pages of odd sizes split the cached keys into runs that meet the score and value tiles at every offset.
        var weights = TinyModels.Create(TinyModels.Config(hidden: 128, headDim: headDim), DType.BF16);
        var fast = new FastModel(weights);
        var reference = new ReferenceModel(weights);
        var referenceCache = new ContiguousKvCache(weights.Config);
        var pool = new KvPagePool(weights.Config, pageSize, 4096 / pageSize + 8);
        var paged = new PagedKvCache(pool, weights.Config);
        var contiguous = new ContiguousKvCache(weights.Config);
        var prompt = Tokens(37, 13, 97);
        Assert.True(paged.TryReserve(prompt.Length + 8));
        Assert.Equal(fast.Forward([new SequenceInput(prompt, contiguous, true)], AttentionKind.BlockCausal, 4)[0],
            fast.Forward([new SequenceInput(prompt, paged, true)], AttentionKind.BlockCausal, 4)[0]);
        reference.Forward([new SequenceInput(prompt, referenceCache, true)], AttentionKind.BlockCausal, 4);
        foreach (var step in new[] { new[] { 96 }, new[] { 96, 96, 96, 96 }, Tokens(6, 17, 97) })
        {
            var expected = fast.Forward([new SequenceInput(step, contiguous, false)], AttentionKind.BlockCausal, 4)[0];
            var actual = fast.Forward([new SequenceInput(step, paged, false)], AttentionKind.BlockCausal, 4)[0];
            Assert.Equal(expected, actual);
            AssertClose(reference.Forward([new SequenceInput(step, referenceCache, false)], AttentionKind.BlockCausal, 4)[0], actual, $"{step.Length} tokens on pages of {pageSize}");
        }

        // BF16 pages are converted into a copy: the same forward, on keys and values rounded to BF16.
        var bf16 = new PagedKvCache(new KvPagePool(weights.Config, pageSize, 4096 / pageSize + 8, KvStorage.BF16), weights.Config);
        Assert.True(bf16.TryReserve(prompt.Length + 8));
        fast.Forward([new SequenceInput(prompt, bf16, true)], AttentionKind.BlockCausal, 4);
        var exact = fast.Forward([new SequenceInput([96], contiguous, false)], AttentionKind.BlockCausal, 4)[0];
        var rounded = fast.Forward([new SequenceInput([96], bf16, false)], AttentionKind.BlockCausal, 4)[0];
        double scale = exact.Max(x => Math.Abs((double)x));
        Assert.All(exact.Zip(rounded), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 0.05 * scale, $"{pair.First} vs {pair.Second}"));
        Assert.NotEqual(exact, rounded);
    }

    [Fact]
    public void Odd_hidden_sizes_use_the_scalar_tail_consistently()
    {
        var weights = TinyModels.Create(TinyModels.Config(hidden: 72, headDim: 18), DType.BF16);
        var prompt = Tokens(6, 9, 97);
        var expected = new ReferenceModel(weights).Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.BlockCausal, 4)[0];
        var actual = new FastModel(weights).Forward([new SequenceInput(prompt, new ContiguousKvCache(weights.Config), false)], AttentionKind.BlockCausal, 4)[0];
        AssertClose(expected, actual, "odd sizes");
    }
}
