using Sdar.Training;
using Sdar.Training.Data;
using Sdar.Training.Objectives;
using Sdar.Tests.Checkpoints;

namespace Sdar.Tests.Training;

/// <summary>A run stopped on request saves a checkpoint and resumes exactly; a run whose loss blows up stops naming the step.</summary>
public class StopAndDivergenceTests
{
    private const int Pad = 62;

    private static List<TrainingSample> Samples(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(20), length = 8 + random.Next(10);
            return TrainingSample.AllLabels(Enumerable.Range(0, length).Select(i => (start + i) % 60).ToArray());
        }).ToList();
    }

    private static (Trainer Trainer, IDisposable Model) Build(TrainerOptions options)
    {
        var model = TrainingTestModels.Model(TrainingTestModels.Config(sdar: false));
        var source = new PackedRowSource(Samples(64, 1), s => RowPacker.PackStream(s, options.SequenceLength, Pad), options.Seed);
        var eval = RowPacker.PackStream(Samples(8, 2), options.SequenceLength, Pad);
        return (new Trainer(model, new AutoregressiveObjective(), source, eval, options), model);
    }

    private static TrainerOptions Options(string runDir) => new()
    {
        Steps = 6, RunDirectory = runDir, BatchRows = 2, SequenceLength = 32, LearningRate = 1e-2, Progress = false, Seed = 3,
        CheckpointEvery = 0,
    };

    [Fact]
    public void A_stop_request_saves_a_checkpoint_of_the_step_and_resuming_gives_the_uninterrupted_losses()
    {
        using var straightDir = new TempDir();
        using var stoppedDir = new TempDir();
        var straight = new Dictionary<int, double>();
        var (a, modelA) = Build(Options(straightDir.Path));
        using (modelA)
        {
            a.StepCompleted = r => straight[r.Step] = r.Loss;
            a.Run();
        }

        // Stop requested during step 3, with the default --checkpoint-every 0: step 3 completes, then is saved.
        using var stop = new CancellationTokenSource();
        var (b, modelB) = Build(Options(stoppedDir.Path));
        TrainingStoppedException stopped;
        using (modelB)
        {
            b.StepCompleted = r => { if (r.Step == 3) stop.Cancel(); };
            stopped = Assert.Throws<TrainingStoppedException>(() => b.Run(stop.Token));
        }
        Assert.Equal(3, stopped.Step);
        Assert.Equal(TrainingCheckpoints.PathOf(stoppedDir.Path, 3), stopped.Checkpoint);
        Assert.True(Directory.Exists(stopped.Checkpoint));
        Assert.Contains("stopped after step 3 of 6; checkpoint saved to " + stopped.Checkpoint, stopped.Message);

        var resumed = new Dictionary<int, double>();
        var (c, modelC) = Build(Options(stoppedDir.Path));
        using (modelC)
        {
            c.StepCompleted = r => resumed[r.Step] = r.Loss;
            Assert.Equal(3, c.Run().ResumedFromStep);
        }
        Assert.Equal([4, 5, 6], resumed.Keys.Order());
        foreach (var (step, loss) in resumed) Assert.Equal(straight[step], loss, 6);
        var logSteps = new TrainingLog(stoppedDir.Path).Records().Where(r => r["type"]!.GetValue<string>() == "train")
            .Select(r => r["step"]!.GetValue<int>());
        Assert.Equal(Enumerable.Range(1, 6), logSteps);
    }

    [Fact]
    public void A_stop_requested_before_the_first_step_writes_nothing_and_says_so()
    {
        using var dir = new TempDir();
        var (trainer, model) = Build(Options(dir.Path));
        using (model)
        {
            var stopped = Assert.Throws<TrainingStoppedException>(() => trainer.Run(new CancellationToken(canceled: true)));
            Assert.Null(stopped.Checkpoint);
            Assert.Contains("no new checkpoint", stopped.Message);
        }
        Assert.False(Directory.Exists(TrainingCheckpoints.Folder(dir.Path)));
    }

    [Fact]
    public void An_infinite_learning_rate_stops_at_the_step_whose_loss_is_not_finite_keeping_the_last_good_checkpoint()
    {
        using var dir = new TempDir();
        var (trainer, model) = Build(Options(dir.Path) with { LearningRate = 1e30, CheckpointEvery = 1 });
        TrainingDivergedException diverged;
        using (model) diverged = Assert.Throws<TrainingDivergedException>(() => trainer.Run());

        Assert.Matches(@"^step \d+: the (loss|gradient norm) is (NaN|\+Infinity|-Infinity) \(--lr 1E\+30", diverged.Message);
        Assert.InRange(diverged.Step, 2, 6);
        var checkpoints = Directory.GetDirectories(TrainingCheckpoints.Folder(dir.Path)).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Path.GetFileName(TrainingCheckpoints.PathOf(dir.Path, diverged.Step - 1)), checkpoints[^1]);
        Assert.Contains("the last good checkpoint is " + TrainingCheckpoints.PathOf(dir.Path, diverged.Step - 1), diverged.Message);
        // Nothing of the diverged step was logged, and every logged loss is a number.
        var records = new TrainingLog(dir.Path).Records();
        Assert.All(records, r => Assert.True(r["step"]!.GetValue<int>() < diverged.Step));
        Assert.All(records, r => Assert.True(double.IsFinite(r["loss"]!.GetValue<double>())));
    }
}

/// <summary>The progress display when standard error is a log file or a pipe.</summary>
public class ProgressLineTests
{
    [Fact]
    public void Redirected_progress_is_whole_lines_at_most_one_per_interval_plus_the_last_step()
    {
        var writer = new StringWriter();
        var now = TimeSpan.Zero;
        using var progress = new ProgressLines(writer, TimeSpan.FromSeconds(10), () => now);
        for (int step = 1; step <= 100; step++)
        {
            now = TimeSpan.FromSeconds(step);   // one step per second
            progress.Update(new ProgressSnapshot(step, 100, 2.5, step >= 50 ? 2.1 : null, 1850.4, TimeSpan.FromSeconds(100 - step)));
        }
        string text = writer.ToString();
        Assert.DoesNotContain('\r', text);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(11, lines.Length);   // step 1, then every 10 s (11, 21, ..., 91), then step 100
        Assert.Equal("step 1/100  loss 2.500  1,850 tok/s  eta 1m39s", lines[0]);
        Assert.Equal("step 100/100  loss 2.500  eval 2.100  1,850 tok/s  eta 0s", lines[^1]);
        Assert.All(lines, l => Assert.StartsWith("step ", l));
    }
}
