using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sdar.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) as PyTorch computes it, with its state exposed by parameter name so that a
/// checkpoint restores it exactly. Weight decay applies to matrices only (dim &gt;= 2), not to norm weights.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly List<Slot> _slots;

    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.95,
        double epsilon = 1e-8, double weightDecay = 0.1)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _slots = parameters.Select(p => new Slot(p.Name, p.Parameter, zeros_like(p.Parameter), zeros_like(p.Parameter))).ToList();
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }
    /// <summary>Updates taken so far (the t of the bias corrections).</summary>
    public int StepCount { get; private set; }

    public IEnumerable<Parameter> Parameters => _slots.Select(s => s.Parameter);

    /// <summary>One update with learning rate <paramref name="learningRate"/>; parameters without a gradient are left alone.</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        double correction1 = 1 - Math.Pow(Beta1, StepCount);
        double correction2 = 1 - Math.Pow(Beta2, StepCount);
        using var _ = no_grad();
        // The scalars are made once per step and kept alive by the usings: a Scalar made implicitly for a call
        // can be finalized by the GC while libtorch still reads it (a long run crashed once with "Unknown scalar
        // type" in pow).
        using Scalar decay = 1 - learningRate * WeightDecay, beta1 = Beta1, beta2 = Beta2;
        using Scalar gradientWeight = 1 - Beta1, squareWeight = 1 - Beta2;
        using Scalar rootCorrection = Math.Sqrt(correction2), epsilon = Epsilon, stepSize = -learningRate / correction1;
        foreach (var slot in _slots)
        {
            var grad = slot.Parameter.grad;
            if (grad is null) continue;
            if (WeightDecay != 0 && slot.Parameter.dim() >= 2) slot.Parameter.mul_(decay);
            slot.ExpAvg.mul_(beta1).add_(grad, alpha: gradientWeight);
            slot.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, value: squareWeight);
            using var root = slot.ExpAvgSq.sqrt();
            using var denominator = root.div_(rootCorrection).add_(epsilon);
            slot.Parameter.addcdiv_(slot.ExpAvg, denominator, value: stepSize);
        }
    }

    public void ZeroGrad()
    {
        foreach (var slot in _slots) slot.Parameter.grad?.zero_();
    }

    /// <summary>The moment estimates under "{parameter}.exp_avg" and "{parameter}.exp_avg_sq".</summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var slot in _slots)
        {
            state[slot.Name + ".exp_avg"] = slot.ExpAvg;
            state[slot.Name + ".exp_avg_sq"] = slot.ExpAvgSq;
        }
        return state;
    }

    /// <summary>Restores the moments and the step count saved by <see cref="State"/>.</summary>
    public void Load(IReadOnlyDictionary<string, float[]> state, int stepCount, string origin)
    {
        using var _ = no_grad();
        foreach (var slot in _slots)
        {
            foreach (var (suffix, target) in new[] { (".exp_avg", slot.ExpAvg), (".exp_avg_sq", slot.ExpAvgSq) })
            {
                if (!state.TryGetValue(slot.Name + suffix, out var values))
                    throw new InvalidDataException($"{origin}: optimizer state '{slot.Name}{suffix}' is missing");
                if (values.LongLength != target.numel())
                    throw new InvalidDataException($"{origin}: optimizer state '{slot.Name}{suffix}' has {values.LongLength} values, expected {target.numel()}");
                using var source = tensor(values, target.shape);
                target.copy_(source);
            }
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.ExpAvg.Dispose();
            slot.ExpAvgSq.Dispose();
        }
    }

    private sealed record Slot(string Name, Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq);
}
