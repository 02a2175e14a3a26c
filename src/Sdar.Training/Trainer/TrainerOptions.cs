using Sdar.Training.Modeling;

namespace Sdar.Training;

/// <summary>
/// How a training run goes. Messages name the CLI flag of an option (<see cref="TrainingFlag"/>; property BatchRows is
/// --batch-rows, WarmupSteps is --warmup, GradientClip is --clip), or the property for settings with no flag.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Optimiser steps in the whole run.</summary>
    public required int Steps { get; init; }
    /// <summary>Where checkpoints, the JSONL log and the loss plot go.</summary>
    public required string RunDirectory { get; init; }
    /// <summary>Packed rows per micro-batch.</summary>
    public int BatchRows { get; init; } = 8;
    /// <summary>Micro-batches whose gradients add up to one optimiser step.</summary>
    public int GradientAccumulation { get; init; } = 1;
    /// <summary>Tokens per packed row (block diffusion doubles it inside the model).</summary>
    public int SequenceLength { get; init; } = 256;
    public double LearningRate { get; init; } = 1e-3;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    public int WarmupSteps { get; init; }
    /// <summary>The cosine schedule's floor as a fraction of the peak rate.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Maximum gradient norm; 0 turns clipping off.</summary>
    public double GradientClip { get; init; } = 1.0;
    /// <summary>Evaluate every this many steps (and after the last); 0: only after the last.</summary>
    public int EvalEvery { get; init; }
    /// <summary>Checkpoint every this many steps (and after the last); 0: only after the last.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>How many of the newest checkpoints to keep.</summary>
    public int KeepCheckpoints { get; init; } = 2;
    public long Seed { get; init; }
    /// <summary>
    /// bf16 matrix products against float32 master weights: measured 1.15-1.5x faster per step than fp32 on this CPU
    /// (avx512_bf16 on this AMD EPYC; hidden 256, 6 layers, seq 256, 8 rows), so it is the default.
    /// </summary>
    public ComputePrecision Precision { get; init; } = ComputePrecision.Bf16;
    /// <summary>Continue from the newest checkpoint in <see cref="RunDirectory"/> when there is one.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>Show the progress bar (on stderr).</summary>
    public bool Progress { get; init; } = true;

    public int RowsPerStep => BatchRows * GradientAccumulation;

    /// <summary>Checks every field; a bad one is an <see cref="OptionException"/> naming its flag.</summary>
    public void Validate()
    {
        OptionException.Require(Steps >= 1, TrainingFlag.Steps, $"must be at least 1 (got {Steps})");
        OptionException.Require(!string.IsNullOrWhiteSpace(RunDirectory), TrainingFlag.RunDir, "is required");
        OptionException.Require(BatchRows >= 1, TrainingFlag.BatchRows, $"must be at least 1 (got {BatchRows})");
        OptionException.Require(GradientAccumulation >= 1, TrainingFlag.GradAccum, $"must be at least 1 (got {GradientAccumulation})");
        OptionException.Require(SequenceLength >= 2, TrainingFlag.SeqLength, $"must be at least 2 (got {SequenceLength})");
        OptionException.Require(LearningRate > 0 && double.IsFinite(LearningRate), TrainingFlag.LearningRate, $"must be a positive number (got {LearningRate})");
        OptionException.Require(WarmupSteps >= 0 && WarmupSteps <= Steps, TrainingFlag.Warmup, $"must be between 0 and --steps ({Steps}) (got {WarmupSteps})");
        OptionException.RequireSetting(MinLearningRateRatio is >= 0 and <= 1, "TrainerOptions.MinLearningRateRatio", $"must be between 0 and 1 (got {MinLearningRateRatio})");
        OptionException.Require(WeightDecay >= 0, TrainingFlag.WeightDecay, $"must not be negative (got {WeightDecay})");
        OptionException.RequireSetting(Beta1 is >= 0 and < 1, "TrainerOptions.Beta1", $"must be in [0, 1) (got {Beta1})");
        OptionException.RequireSetting(Beta2 is >= 0 and < 1, "TrainerOptions.Beta2", $"must be in [0, 1) (got {Beta2})");
        OptionException.RequireSetting(AdamEpsilon > 0, "TrainerOptions.AdamEpsilon", $"must be positive (got {AdamEpsilon})");
        OptionException.Require(GradientClip >= 0, TrainingFlag.Clip, $"must not be negative (got {GradientClip}); 0 turns clipping off");
        OptionException.Require(EvalEvery >= 0, TrainingFlag.EvalEvery, $"must not be negative (got {EvalEvery})");
        OptionException.Require(CheckpointEvery >= 0, TrainingFlag.CheckpointEvery, $"must not be negative (got {CheckpointEvery})");
        OptionException.RequireSetting(KeepCheckpoints >= 1, "TrainerOptions.KeepCheckpoints", $"must be at least 1 (got {KeepCheckpoints})");
    }
}
