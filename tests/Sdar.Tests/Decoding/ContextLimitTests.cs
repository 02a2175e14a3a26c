using System.Diagnostics;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Tests.Model;

namespace Sdar.Tests.Decoding;

/// <summary>Prompts and requested lengths are checked against the model's context before anything is allocated.</summary>
public class ContextLimitTests
{
    private static readonly ModelConfig Context1024 = TinyModels.Config() with { MaxPositionEmbeddings = 1024 };

    [Fact]
    public void Max_new_tokens_beyond_the_context_fails_at_option_resolution()
    {
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MaxNewTokens = 1_000_000_000 }.Resolve(Context1024));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1));
        Assert.Contains("MaxNewTokens (max_new_tokens) 1000000000", error.Message);
        Assert.Contains("max_position_embeddings in config.json", error.Message);
        Assert.Contains("1024", error.Message);
    }

    [Fact]
    public void Prompt_plus_max_new_tokens_is_rounded_up_to_whole_blocks_before_the_check()
    {
        // 1000 + 22 = 1022 tokens, but the answer region is whole blocks of 4: 1024 positions fit, 1021 + 4 -> 1028 do not.
        new GenerationOptions { MaxNewTokens = 22 }.Resolve(Context1024, promptLength: 1000);
        var error = Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MaxNewTokens = 4 }.Resolve(Context1024, promptLength: 1021));
        Assert.Contains("the prompt (1021 tokens) + MaxNewTokens (max_new_tokens) 4, rounded up to whole blocks of 4, need 1028 positions", error.Message);
    }

    [Fact]
    public void An_autoregressive_model_checks_prompt_plus_max_new_tokens_exactly()
    {
        var ar = Context1024 with { ModelType = "qwen3", BlockSize = 0, MaskTokenId = null };
        new GenerationOptions { MaxNewTokens = 24 }.Resolve(ar, promptLength: 1000);
        Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MaxNewTokens = 25 }.Resolve(ar, promptLength: 1000));
    }

    [Fact]
    public void A_20000_token_prompt_on_a_1024_position_model_fails_immediately_without_a_forward()
    {
        var weights = TinyModels.Create(Context1024);
        var generator = Generator.For(new FastModel(weights));
        var prompt = Enumerable.Range(0, 20_000).Select(i => i % 90).ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<GenerationOptionException>(() => generator.Generate(prompt, new GenerationOptions { MaxNewTokens = 8 }));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000, "the request allocated before it was refused");
        Assert.Contains("the prompt (20000 tokens)", error.Message);
        Assert.Contains("max_position_embeddings", error.Message);
    }

    [Fact]
    public void A_request_whose_kv_cache_exceeds_the_machine_memory_is_refused_with_both_numbers()
    {
        // 4096 layers x 4096 KV heads x 4096 dims: one position alone needs 512 GiB of float32 keys and values.
        var huge = ModelShapes.Tiny() with { NumHiddenLayers = 4096, NumAttentionHeads = 4096, NumKeyValueHeads = 4096, HeadDim = 256 };
        var error = Assert.Throws<GenerationOptionException>(() => new GenerationOptions { MaxNewTokens = 8 }.Resolve(huge));
        Assert.Contains("bytes for the KV cache and activations", error.Message);
        Assert.Contains($"this machine has {ModelMemory.AvailableBytes()} bytes available", error.Message);
    }

    [Fact]
    public void Generation_within_the_context_still_runs()
    {
        var generator = Generator.For(new FastModel(TinyModels.Create(Context1024)));
        var result = generator.Generate([1, 2, 3], new GenerationOptions { MaxNewTokens = 8, Temperature = 0, IgnoreEos = true });
        Assert.Equal(8, result.TokenIds.Count());
    }
}
