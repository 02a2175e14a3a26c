using System.Diagnostics;
using Sdar.Config;
using Sdar.Training.Data;
using Sdar.Training.Modeling;
using Sdar.Training.Objectives;
using static TorchSharp.torch;

namespace Sdar.Training;

/// <summary>Throughput of one training configuration.</summary>
public sealed record TrainingThroughput(ComputePrecision Precision, string Objective, long Parameters, double SecondsPerStep,
    double TokensPerSecond, double ModelTokensPerSecond, double FlopsPerSecond, double ShareOfPeak);

/// <summary>
/// Measures full optimiser steps (forward, backward, clipping, AdamW) on random data, for choosing the precision and
/// for reporting tokens/s against the CPU's FLOP limit (~6 x parameters x tokens per step).
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>This CPU's fp32 FMA peak for 2 threads (DESIGN section 6).</summary>
    public const double PeakFlopsFp32 = 200e9;

    public static TrainingThroughput Measure(ModelConfig config, ITrainingObjective objective, ComputePrecision precision,
        int sequenceLength, int batchRows, int steps = 5, int warmupSteps = 2)
    {
        using var model = new Qwen3ForCausalLM(config) { Precision = precision };
        ModelInitialization.Initialize(model, 1);
        using var optimizer = new OptimizerHolder(model);
        var random = new Random(1);
        var rows = Enumerable.Range(0, batchRows).Select(_ => RowPacker.PackStream(
            [TrainingSample.AllLabels(Enumerable.Range(0, sequenceLength).Select(_ => random.Next(config.VocabSize - 2)).ToArray())],
            sequenceLength, 0)[0]).ToList();
        double seconds = 0;
        long modelTokens = 0;
        for (int step = 0; step < warmupSteps + steps; step++)
        {
            var clock = Stopwatch.StartNew();
            var batch = objective.Build(rows, new DeterministicRandom(1, step));
            using (var scope = NewDisposeScope())
            {
                batch.Loss(model, Math.Max(1, batch.LabelCount)).backward();
                nn.utils.clip_grad_norm_(optimizer.Inner.Parameters, 1.0);
                optimizer.Inner.Step(1e-4);
                optimizer.Inner.ZeroGrad();
            }
            if (step < warmupSteps) continue;
            seconds += clock.Elapsed.TotalSeconds;
            modelTokens += batch.ModelTokens;
        }
        long parameters = model.ParameterCount();
        double tokensPerSecond = (double)steps * batchRows * sequenceLength / seconds;
        double flops = 6.0 * parameters * modelTokens / seconds;
        return new TrainingThroughput(precision, objective.Name, parameters, seconds / steps, tokensPerSecond, modelTokens / seconds,
            flops, flops / PeakFlopsFp32);
    }

    private sealed class OptimizerHolder(Qwen3ForCausalLM model) : IDisposable
    {
        public AdamW Inner { get; } = new(model.named_parameters());
        public void Dispose() => Inner.Dispose();
    }
}
