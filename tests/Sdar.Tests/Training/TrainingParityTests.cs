using Sdar.Checkpoints;
using Sdar.Model;
using Sdar.Tests.Checkpoints;
using Sdar.Tests.Model;
using Sdar.Training.Modeling;
using static TorchSharp.torch;

namespace Sdar.Tests.Training;

/// <summary>
/// The TorchSharp training module and the C# engine are two implementations of one architecture (DESIGN section 2):
/// the same checkpoint gives the same logits to 1e-4 relative, for the causal and the block-causal masks.
/// </summary>
public class TrainingParityTests
{
    private static int[] Tokens(int count, int seed, int vocab)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
    }

    /// <summary>The module's logits for one sequence from position 0 under an engine mask, as (T * V) floats.</summary>
    internal static float[] ModuleLogits(Qwen3ForCausalLM module, int[] tokens, AttentionKind kind, int blockLength)
    {
        using var scope = NewDisposeScope();
        int t = tokens.Length;
        var mask = new bool[t * t];
        for (int q = 0; q < t; q++)
            for (int k = 0; k < t; k++)
                mask[q * t + k] = Masks.Visible(kind, blockLength, q, k);
        using var _ = no_grad();
        var logits = module.forward(
            tensor(tokens.Select(x => (long)x).ToArray(), [1, t]),
            tensor(Enumerable.Range(0, t).Select(x => (long)x).ToArray(), [1, t]),
            tensor(mask, [1, t, t]));
        return logits.data<float>().ToArray();
    }

    private static void AssertParity(ModelWeights weights, Qwen3ForCausalLM module, int[] tokens, AttentionKind kind, int blockLength)
    {
        var input = new SequenceInput(tokens, new ContiguousKvCache(weights.Config), false);
        var reference = new ReferenceModel(weights).Forward([input], kind, blockLength)[0];
        var fast = new FastModel(weights).Forward([input with { Cache = new ContiguousKvCache(weights.Config) }], kind, blockLength)[0];
        var actual = ModuleLogits(module, tokens, kind, blockLength);
        FastModelParityTests.AssertClose(reference, actual, $"{kind} vs reference");
        FastModelParityTests.AssertClose(fast, actual, $"{kind} vs fast engine");
    }

    [Theory]
    [InlineData("tiny-sdar", AttentionKind.BlockCausal)]
    [InlineData("tiny-sdar", AttentionKind.Causal)]
    [InlineData("tiny-qwen3", AttentionKind.Causal)]
    public void Fixture_checkpoint_logits_match_the_engine(string fixture, AttentionKind kind)
    {
        using var checkpoint = Checkpoint.Open(TestFiles.Fixture(fixture));
        using var module = ModelFolder.FromWeights(checkpoint.Weights);
        AssertParity(checkpoint.Weights, module, Tokens(12, 7, checkpoint.Config.VocabSize), kind, 4);
    }

    [Theory]
    [InlineData(true, false, AttentionKind.BlockCausal)]
    [InlineData(true, false, AttentionKind.Causal)]
    [InlineData(false, true, AttentionKind.BlockCausal)]
    [InlineData(true, true, AttentionKind.Causal)]
    public void Random_moe_and_tied_models_match_the_engine(bool moe, bool tied, AttentionKind kind)
    {
        var weights = TinyModels.Create(TinyModels.Config(moe, tied), DType.BF16, seed: 3);
        using var module = ModelFolder.FromWeights(weights);
        Assert.Equal(moe, module.model.layers[0].mlp is Qwen3SparseMoeBlock);
        Assert.Equal(tied, module.lm_head is null);
        AssertParity(weights, module, Tokens(10, 11, weights.Config.VocabSize), kind, 4);
    }

    [Fact]
    public void Parameter_names_are_the_checkpoint_keys()
    {
        var config = TinyModels.Config(moe: true);
        using var module = new Qwen3ForCausalLM(config);
        var names = module.named_parameters().Select(p => p.name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var keys = ModelLayout.Tensors(config).Select(s => s.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(keys, names);
    }
}
