using System.Text.Json;
using Sdar.Checkpoints;
using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Tests.Decoding;

/// <summary>
/// Greedy decoding of the tiny checkpoints against tests/fixtures/sdar-golden/golden.json, computed by an
/// independent PyTorch implementation of the official decoding loop: token ids, NFE and commits per step must
/// match exactly (every decision there has a margin of at least 1e-3, see the fixture's README).
/// </summary>
public class GoldenDecodingTests
{
    private static readonly string GoldenDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "sdar-golden");

    internal sealed record GoldenCase(string Name, string ModelDir, int[] PromptIds, int GenLength, int BlockLength,
        int DenoisingSteps, string Strategy, double? Threshold, int[] ExpectedIds, int NfeDenoise, int NfeTotal,
        int[]? CommitsPerDenoiseStep);

    private static readonly Lazy<IReadOnlyList<GoldenCase>> AllCases = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenDir, "golden.json")));
        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => new GoldenCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("model_dir").GetString()!,
            Ints(c.GetProperty("prompt_ids")),
            c.GetProperty("gen_length").GetInt32(),
            c.GetProperty("block_length").GetInt32(),
            c.GetProperty("denoising_steps").GetInt32(),
            c.GetProperty("strategy").GetString()!,
            c.GetProperty("threshold").ValueKind == JsonValueKind.Number ? c.GetProperty("threshold").GetDouble() : null,
            Ints(c.GetProperty("expected_ids")),
            c.GetProperty("nfe_denoise").GetInt32(),
            c.GetProperty("nfe_total").GetInt32(),
            c.TryGetProperty("commits_per_denoise_step", out var commits) && commits.ValueKind == JsonValueKind.Array ? Ints(commits) : null)).ToArray();
    });

    private static GoldenCase Case(string name) => AllCases.Value.Single(c => c.Name == name);

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in AllCases.Value)
        {
            data.Add(c.Name, false);
            data.Add(c.Name, true);
        }
        return data;
    }

    private static GenerationOptions OptionsFor(GoldenCase c)
    {
        bool ar = c.Strategy.StartsWith("ar_", StringComparison.Ordinal);
        return new GenerationOptions
        {
            MaxNewTokens = c.GenLength,
            BlockLength = ar ? null : c.BlockLength,
            DenoisingSteps = ar ? null : c.DenoisingSteps,
            Strategy = ar ? GenerationOptions.DefaultStrategy : c.Strategy,
            ConfidenceThreshold = c.Threshold ?? 0.9,
            Temperature = 0,
            IgnoreEos = true,      // the golden runs use no stop ids
            RecordTrace = true,
            FusedCommit = false,   // the official loop's accounting: one commit forward per block
        };
    }

    private static void AssertMatches(GoldenCase c, GenerationResult result)
    {
        Assert.Equal(c.ExpectedIds, result.TokenIds);
        Assert.Equal(c.NfeDenoise, result.Nfe.Denoise);
        Assert.Equal(c.NfeTotal, result.Nfe.Total);
        if (c.CommitsPerDenoiseStep is not null) Assert.Equal(c.CommitsPerDenoiseStep, result.CommitsPerStep);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_decoding_matches_the_golden_case(string name, bool fast)
    {
        var c = Case(name);
        using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, c.ModelDir));
        ILanguageModel model = fast ? new FastModel(checkpoint.Weights) : new ReferenceModel(checkpoint.Weights);
        var generator = Generator.For(model, checkpoint.GenerationConfig.EosTokenIds);
        Assert.Equal(c.ModelDir == "tiny-sdar", generator is BlockDiffusionGenerator);
        AssertMatches(c, generator.Generate(c.PromptIds, OptionsFor(c)));
    }

    [Fact]
    public void All_golden_cases_decode_together_as_one_batch()
    {
        foreach (var group in AllCases.Value.GroupBy(c => c.ModelDir))
        {
            using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, group.Key));
            var cases = group.ToArray();
            var results = Generator.For(new FastModel(checkpoint.Weights))
                .GenerateBatch(cases.Select(c => new GenerationRequest(c.PromptIds, OptionsFor(c))).ToArray());
            for (int i = 0; i < cases.Length; i++) AssertMatches(cases[i], results[i]);
        }
    }

    [Fact]
    public void Fused_commits_give_the_golden_tokens_with_one_forward_less_per_block()
    {
        foreach (var group in AllCases.Value.Where(c => c.ModelDir == "tiny-sdar").GroupBy(c => c.ModelDir))
        {
            using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, group.Key));
            var generator = Generator.For(new FastModel(checkpoint.Weights));
            foreach (var c in group)
            {
                var separate = generator.Generate(c.PromptIds, OptionsFor(c));
                var fused = generator.Generate(c.PromptIds, OptionsFor(c) with { FusedCommit = true });
                AssertMatches(c, separate);
                Assert.Equal(separate.TokenIds, fused.TokenIds);
                Assert.Equal(separate.CommitsPerStep, fused.CommitsPerStep);
                int blocks = separate.Trace!.Select(t => t.Block).Distinct().Count();
                Assert.Equal(separate.Nfe.Denoise, fused.Nfe.Denoise);
                Assert.Equal(separate.Nfe.Total - blocks, fused.Nfe.Total);
            }
        }
    }

    [Theory]
    [InlineData("sdar_b4_s4_static_p5")]
    [InlineData("sdar_b4_s2_static_p13")]
    [InlineData("sdar_b8_s4_dynamic_p5")]
    [InlineData("sdar_b16_s16_dynamic_p13")]
    [InlineData("qwen3_ar_greedy_p13")]
    public void Cached_decoding_equals_recomputing_every_forward_from_scratch(string name)
    {
        var c = Case(name);
        using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, c.ModelDir));
        var model = new ReferenceModel(checkpoint.Weights);
        var cached = Generator.For(model).Generate(c.PromptIds, OptionsFor(c));
        var recomputed = Generator.For(new NoCacheModel(model)).Generate(c.PromptIds, OptionsFor(c));
        Assert.Equal(recomputed.TokenIds, cached.TokenIds);
        Assert.Equal(recomputed.CommitsPerStep, cached.CommitsPerStep);
        Assert.Equal(recomputed.Nfe, cached.Nfe);
        AssertMatches(c, recomputed);
    }

    [Theory]
    [InlineData("tiny-sdar", "entropy_bounded")]
    [InlineData("tiny-sdar", "low_confidence_dynamic")]
    [InlineData("tiny-qwen3", "")]
    public void Sampled_decoding_with_a_cache_equals_recomputing_from_scratch(string modelDir, string strategy)
    {
        using var checkpoint = Checkpoint.Open(Path.Combine(GoldenDir, modelDir));
        var model = new FastModel(checkpoint.Weights);
        var options = new GenerationOptions
        {
            MaxNewTokens = 24, BlockLength = 4, Temperature = 0.7, TopK = 50, TopP = 0.9, Seed = 3, RecordTrace = true,
            Strategy = strategy == "" ? GenerationOptions.DefaultStrategy : strategy, ConfidenceThreshold = 0.5, EbThreshold = 1.0,
        };
        int[] prompt = [201, 141, 171, 282, 228, 7];
        var cached = Generator.For(model, checkpoint.GenerationConfig.EosTokenIds).Generate(prompt, options);
        var recomputed = Generator.For(new NoCacheModel(model), checkpoint.GenerationConfig.EosTokenIds).Generate(prompt, options);
        Assert.Equal(recomputed.TokenIds, cached.TokenIds);
        Assert.Equal(recomputed.CommitsPerStep, cached.CommitsPerStep);
    }
}
