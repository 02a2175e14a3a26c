using Sdar.Config;
using Sdar.Training.Data;
using Sdar.Training.Modeling;

namespace Sdar.Tests.Training;

/// <summary>Small models and rows for the training tests.</summary>
internal static class TrainingTestModels
{
    public static ModelConfig Config(bool sdar = true, bool moe = false, int vocab = 64) => new()
    {
        ModelType = (sdar ? "sdar" : "qwen3") + (moe ? "_moe" : ""),
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 8,
        VocabSize = vocab,
        RopeTheta = 10000,
        MaxPositionEmbeddings = 512,
        BlockSize = sdar ? 4 : 0,
        MaskTokenId = sdar ? vocab - 1 : null,
        EosTokenId = vocab - 2,
        EosTokenIds = [vocab - 2],
        PadTokenId = vocab - 2,
        NumExperts = moe ? 4 : 0,
        NumExpertsPerTok = moe ? 2 : 0,
        MoeIntermediateSize = moe ? 16 : 0,
        NormTopkProb = true,
    };

    public static Qwen3ForCausalLM Model(ModelConfig config, long seed = 1)
    {
        var model = new Qwen3ForCausalLM(config);
        ModelInitialization.Initialize(model, seed);
        return model;
    }

    /// <summary>A row holding the given samples one after another, padded with <paramref name="pad"/>.</summary>
    public static PackedRow Row(int length, int pad, params TrainingSample[] samples) =>
        RowPacker.PackWhole(samples, length, pad).Single();
}
