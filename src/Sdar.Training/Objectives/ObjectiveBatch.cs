using Sdar.Training.Data;
using Sdar.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdar.Training.Objectives;

/// <summary>
/// A model input built from packed rows, and what the loss scores: flat row indices into the (Rows * Length)
/// outputs, their target ids and weights. The loss is sum_i Weights[i] * CE(logits[LossRows[i]], Targets[i]),
/// divided by the number of label tokens of the whole optimiser step (DESIGN section 3).
/// </summary>
public sealed record ObjectiveBatch(
    int Rows,
    int Length,
    long[] InputIds,
    long[] PositionIds,
    bool[] Mask,
    long[] LossRows,
    long[] Targets,
    float[] Weights,
    int LabelCount)
{
    /// <summary>Tokens the model processes (rows x length, the 2n layout included).</summary>
    public long ModelTokens => (long)Rows * Length;

    /// <summary>Runs the model and returns the loss (a scalar) divided by <paramref name="normalizer"/>.</summary>
    public Tensor Loss(Qwen3ForCausalLM model, double normalizer)
    {
        using var ids = tensor(InputIds, [Rows, Length]);
        using var positions = tensor(PositionIds, [Rows, Length]);
        using var mask = tensor(Mask, [Rows, Length, Length]);
        var hidden = model.Hidden(ids, positions, mask);                           // (B, T, H)
        if (LossRows.Length == 0) return hidden.sum() * 0;
        using var rows = tensor(LossRows);
        // Only the scored rows go through the head: the rest would cost V x H per token for nothing.
        var logits = model.Logits(hidden.reshape(-1, hidden.shape[^1]).index_select(0, rows));  // (N, V)
        return WeightedCrossEntropy(logits, normalizer);
    }

    /// <summary>
    /// The loss from logits of the scored rows (N, V), in <see cref="LossRows"/> order.
    /// </summary>
    public Tensor WeightedCrossEntropy(Tensor scoredLogits, double normalizer)
    {
        using var targets = tensor(Targets);
        using var weights = tensor(Weights);
        using var perRow = F.cross_entropy(scoredLogits, targets, reduction: nn.Reduction.None);   // (N)
        return (perRow * weights).sum() / normalizer;
    }

    /// <summary>
    /// The loss from the logits of every position (Rows, Length, V) or (Rows * Length, V): only the scored rows enter
    /// it, so positions that are not scored get no gradient.
    /// </summary>
    public Tensor LossFromAllLogits(Tensor allLogits, double normalizer)
    {
        using var rows = tensor(LossRows);
        return WeightedCrossEntropy(allLogits.reshape(-1, allLogits.shape[^1]).index_select(0, rows), normalizer);
    }
}

/// <summary>Turns packed rows into model inputs and loss targets.</summary>
public interface ITrainingObjective
{
    /// <summary>A short name for logs ("ar", "block-diffusion").</summary>
    string Name { get; }

    /// <summary>Builds the batch for <paramref name="rows"/>; <paramref name="random"/> draws any noise.</summary>
    ObjectiveBatch Build(IReadOnlyList<PackedRow> rows, DeterministicRandom random);
}
