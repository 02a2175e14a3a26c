using Sdar.Training;
using Sdar.Training.Data;
using Sdar.Training.Modeling;
using Sdar.Training.Objectives;
using Sdar.Tests.Checkpoints;
using static TorchSharp.torch;

namespace Sdar.Tests.Training;

/// <summary>The training loop: learning, accumulation, checkpoints, exact resume, log and plot.</summary>
public class TrainerTests
{
    private const int Pad = 62;

    /// <summary>Short repetitive sequences (counting with a random start and stride) that a tiny model learns fast.</summary>
    private static List<TrainingSample> CountingSamples(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(20), stride = 1 + random.Next(2), length = 8 + random.Next(10);
            return TrainingSample.AllLabels(Enumerable.Range(0, length).Select(i => (start + i * stride) % 60).ToArray());
        }).ToList();
    }

    private static (Trainer Trainer, Sdar.Training.Modeling.Qwen3ForCausalLM Model) Build(ITrainingObjective objective, TrainerOptions options, bool sdar)
    {
        var model = TrainingTestModels.Model(TrainingTestModels.Config(sdar));
        var samples = CountingSamples(64, 1);
        var source = new PackedRowSource(samples, s => RowPacker.PackStream(s, options.SequenceLength, Pad), options.Seed);
        var eval = RowPacker.PackStream(CountingSamples(8, 2), options.SequenceLength, Pad);
        return (new Trainer(model, objective, source, eval, options), model);
    }

    private static TrainerOptions Options(string runDir, int steps) => new()
    {
        Steps = steps, RunDirectory = runDir, BatchRows = 2, GradientAccumulation = 2, SequenceLength = 32,
        LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 5, Progress = false, Seed = 5,
    };

    public static TheoryData<bool> Objectives() => new() { false, true };

    private static ITrainingObjective Objective(bool sdar) =>
        sdar ? new BlockDiffusionObjective(4, TrainingTestModels.Config().MaskTokenId!.Value) : new AutoregressiveObjective();

    [Theory]
    [InlineData(false, ComputePrecision.Bf16)]
    [InlineData(true, ComputePrecision.Bf16)]
    [InlineData(true, ComputePrecision.Fp32)]
    public void A_short_run_lowers_the_loss(bool sdar, ComputePrecision precision)
    {
        using var dir = new TempDir();
        var (trainer, model) = Build(Objective(sdar), Options(dir.Path, 40) with { EvalEvery = 0, Precision = precision }, sdar);
        using var _ = model;
        double before = trainer.Evaluate();
        var summary = trainer.Run();
        Assert.True(summary.FinalEvalLoss < before * 0.7, $"eval loss {before} -> {summary.FinalEvalLoss}");
        Assert.Equal(40, summary.Steps);
        Assert.True(summary.TokensPerSecond > 0);
    }

    [Theory]
    [MemberData(nameof(Objectives))]
    public void Resuming_after_an_interruption_reproduces_the_uninterrupted_losses(bool sdar)
    {
        using var straightDir = new TempDir();
        using var resumedDir = new TempDir();
        var options = Options(straightDir.Path, 7) with { CheckpointEvery = 2, KeepCheckpoints = 5 };

        var straightLosses = new Dictionary<int, double>();
        var (straight, straightModel) = Build(Objective(sdar), options, sdar);
        using (straightModel)
        {
            straight.StepCompleted = r => straightLosses[r.Step] = r.Loss;
            straight.Run();
        }

        // A crash during step 5: checkpoint 4 is the last one written.
        var (crashing, crashingModel) = Build(Objective(sdar), options with { RunDirectory = resumedDir.Path }, sdar);
        using (crashingModel)
        {
            crashing.StepCompleted = r => { if (r.Step == 5) throw new IOException("simulated crash"); };
            Assert.Throws<IOException>(() => crashing.Run());
        }
        Assert.True(Directory.Exists(TrainingCheckpoints.PathOf(resumedDir.Path, 4)));
        Assert.False(Directory.Exists(TrainingCheckpoints.PathOf(resumedDir.Path, 6)));

        var resumedLosses = new Dictionary<int, double>();
        var (resumed, resumedModel) = Build(Objective(sdar), options with { RunDirectory = resumedDir.Path }, sdar);
        using (resumedModel)
        {
            resumed.StepCompleted = r => resumedLosses[r.Step] = r.Loss;
            var summary = resumed.Run();
            Assert.Equal(4, summary.ResumedFromStep);
        }
        Assert.Equal([5, 6, 7], resumedLosses.Keys.Order());
        foreach (var (step, loss) in resumedLosses) Assert.Equal(straightLosses[step], loss, 6);

        // The log reads as one run: steps 1..7 once each.
        var logSteps = new TrainingLog(resumedDir.Path).Records().Where(r => r["type"]!.GetValue<string>() == "train")
            .Select(r => r["step"]!.GetValue<int>()).ToList();
        Assert.Equal(Enumerable.Range(1, 7), logSteps);
        Assert.True(File.Exists(Path.Combine(resumedDir.Path, "loss.png")));
    }

    [Fact]
    public void Resuming_with_a_different_sequence_length_names_the_option()
    {
        using var dir = new TempDir();
        var (first, model) = Build(new AutoregressiveObjective(), Options(dir.Path, 2), sdar: false);
        using (model) first.Run();
        var (second, model2) = Build(new AutoregressiveObjective(), Options(dir.Path, 4) with { SequenceLength = 16 }, sdar: false);
        using (model2)
        {
            var error = Assert.Throws<OptionException>(() => second.Run());
            Assert.Equal("seq-length", error.Option);
        }
    }

    [Fact]
    public void Gradient_accumulation_equals_one_large_batch()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        var lossA = new List<double>();
        var lossB = new List<double>();
        var (a, modelA) = Build(new AutoregressiveObjective(), Options(dirA.Path, 3) with { BatchRows = 4, GradientAccumulation = 1, Precision = ComputePrecision.Fp32 }, sdar: false);
        var (b, modelB) = Build(new AutoregressiveObjective(), Options(dirB.Path, 3) with { BatchRows = 1, GradientAccumulation = 4, Precision = ComputePrecision.Fp32 }, sdar: false);
        using (modelA)
        using (modelB)
        {
            a.StepCompleted = r => lossA.Add(r.Loss);
            b.StepCompleted = r => lossB.Add(r.Loss);
            a.Run();
            b.Run();
        }
        for (int i = 0; i < 3; i++) Assert.Equal(lossA[i], lossB[i], 4);
    }

    [Fact]
    public void Warmup_then_cosine_and_constant_schedules()
    {
        var cosine = new LearningRateSchedule(1.0, 4, 15, ScheduleKind.Cosine, 0.1);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], Enumerable.Range(0, 4).Select(cosine.At));
        Assert.Equal(1.0, cosine.At(4), 9);
        Assert.Equal(0.55, cosine.At(9), 9);
        Assert.Equal(0.1, cosine.At(14), 9);
        var constant = new LearningRateSchedule(2.0, 2, 10, ScheduleKind.Constant);
        Assert.Equal([1.0, 2.0, 2.0, 2.0], Enumerable.Range(0, 4).Select(constant.At));
    }

    [Fact]
    public void AdamW_matches_torch_adamw()
    {
        using var scope = NewDisposeScope();
        var initial = randn(3, 4, generator: new Generator(3));
        var ours = new TorchSharp.Modules.Parameter(initial.clone());
        var theirs = new TorchSharp.Modules.Parameter(initial.clone());
        using var adam = new AdamW([("w", ours)], 0.9, 0.95, 1e-8, 0.1);
        var reference = optim.AdamW([theirs], 0.01, 0.9, 0.95, 1e-8, 0.1);
        for (int step = 0; step < 5; step++)
        {
            var target = randn(3, 4, generator: new Generator((ulong)step));
            (ours - target).pow(2).sum().backward();
            (theirs - target).pow(2).sum().backward();
            adam.Step(0.01);
            reference.step();
            adam.ZeroGrad();
            reference.zero_grad();
        }
        Assert.True(ours.allclose(theirs, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Initialization_is_deterministic_in_the_seed()
    {
        using var a = TrainingTestModels.Model(TrainingTestModels.Config(), seed: 4);
        using var b = TrainingTestModels.Model(TrainingTestModels.Config(), seed: 4);
        using var c = TrainingTestModels.Model(TrainingTestModels.Config(), seed: 5);
        Assert.True(a.model.embed_tokens.weight!.allclose(b.model.embed_tokens.weight!, 0, 0));
        Assert.False(a.model.embed_tokens.weight!.allclose(c.model.embed_tokens.weight!));
        Assert.InRange(a.model.embed_tokens.weight!.std().item<float>(), 0.018, 0.022);
    }
}
