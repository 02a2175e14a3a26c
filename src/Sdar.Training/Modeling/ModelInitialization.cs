using static TorchSharp.torch;

namespace Sdar.Training.Modeling;

/// <summary>
/// Fresh weights for pretraining from scratch, as HF initialises Qwen3: every matrix (linear and embedding)
/// ~ N(0, initializer_range^2), every norm weight 1. Deterministic in the seed.
/// </summary>
public static class ModelInitialization
{
    public const double InitializerRange = 0.02;

    public static void Initialize(Qwen3ForCausalLM model, long seed, double std = InitializerRange)
    {
        using var generator = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            // Drawn with randn and copied: TorchSharp 0.107's nn.init.normal_ ignores its generator argument.
            if (parameter.dim() >= 2) parameter.copy_(randn(parameter.shape, generator: generator).mul_(std));
            else parameter.fill_(1.0);
        }
    }
}
