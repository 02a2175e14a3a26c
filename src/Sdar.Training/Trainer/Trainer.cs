using System.Diagnostics;
using System.Text.Json.Nodes;
using Sdar.Config;
using Sdar.Training.Data;
using Sdar.Training.Modeling;
using Sdar.Training.Objectives;
using static TorchSharp.torch;

namespace Sdar.Training;

/// <summary>What one optimiser step did.</summary>
public sealed record StepRecord(int Step, double Loss, double LearningRate, double GradientNorm, long Tokens, double TokensPerSecond);

/// <summary>How a run ended.</summary>
/// <param name="Steps">The step the run reached.</param>
/// <param name="ResumedFromStep">The checkpoint step it resumed from (0 for a fresh run).</param>
/// <param name="Tokens">Input tokens over the whole run (packed rows, padding included).</param>
/// <param name="Seconds">Wall time over the whole run, earlier sessions included.</param>
/// <param name="TokensPerSecond">Input tokens per second over this session's steps (evaluations and checkpoints included).</param>
/// <param name="FlopsPerSecond">Approximate training FLOP/s: 6 x parameters x model tokens per second (the 2n layout counts twice).</param>
public sealed record TrainingSummary(
    int Steps,
    int ResumedFromStep,
    long Tokens,
    double Seconds,
    double? FinalTrainLoss,
    double? FinalEvalLoss,
    double TokensPerSecond,
    double FlopsPerSecond);

/// <summary>
/// The training loop: AdamW, warm-up then cosine or constant schedule, gradient clipping and accumulation, periodic
/// evaluation on held-out rows, atomic checkpoints and exact resume, a graceful stop on request, a progress display,
/// a JSONL log and a loss plot.
/// Every random draw comes from (seed, step, micro-batch), so a resumed run takes the same steps as an
/// uninterrupted one.
/// </summary>
public sealed class Trainer
{
    private readonly Qwen3ForCausalLM _model;
    private readonly ITrainingObjective _objective;
    private readonly PackedRowSource _train;
    private readonly IReadOnlyList<PackedRow> _eval;
    private readonly TrainerOptions _options;
    private readonly GenerationConfig? _generation;
    private readonly string? _tokenizerDir;

    /// <param name="tokenizerDir">Tokenizer files to copy into each checkpoint (so a checkpoint is a usable model folder).</param>
    public Trainer(Qwen3ForCausalLM model, ITrainingObjective objective, PackedRowSource train, IReadOnlyList<PackedRow> eval,
        TrainerOptions options, GenerationConfig? generation = null, string? tokenizerDir = null)
    {
        options.Validate();
        _model = model;
        _objective = objective;
        _train = train;
        _eval = eval;
        _options = options;
        _generation = generation;
        _tokenizerDir = tokenizerDir;
    }

    /// <summary>Called after every step; an exception thrown here ends the run as a crash would (no checkpoint).</summary>
    public Action<StepRecord>? StepCompleted { get; set; }

    /// <summary>Called after every evaluation with (step, loss).</summary>
    public Action<int, double>? Evaluated { get; set; }

    /// <summary>
    /// Trains to <see cref="TrainerOptions.Steps"/>, resuming from the newest checkpoint when there is one.
    /// <para>
    /// <paramref name="cancellation"/> is polled between steps: once it is cancelled the run finishes the step in
    /// progress, writes a checkpoint of it (whatever <see cref="TrainerOptions.CheckpointEvery"/> says) and throws
    /// <see cref="TrainingStoppedException"/> naming it; running again resumes exactly there. A step whose loss or
    /// gradient norm is NaN or infinite throws <see cref="TrainingDivergedException"/> before it is logged or saved.
    /// </para>
    /// </summary>
    public TrainingSummary Run(CancellationToken cancellation = default)
    {
        var o = _options;
        _model.Precision = o.Precision;
        _model.train();
        var log = new TrainingLog(o.RunDirectory);
        using var optimizer = new AdamW(_model.named_parameters(), o.Beta1, o.Beta2, o.AdamEpsilon, o.WeightDecay);
        var schedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, o.Steps, o.Schedule, o.MinLearningRateRatio);

        int startStep = 0;
        long tokens = 0;
        double previousSeconds = 0;
        string? lastCheckpoint = null;
        var latest = o.Resume ? TrainingCheckpoints.Latest(o.RunDirectory) : null;
        if (latest is { } resume)
        {
            CheckCompatible(resume.State, resume.Directory);
            TrainingCheckpoints.Restore(resume.Directory, resume.State, _model, optimizer);
            _train.Position = new DataPosition(resume.State.Epoch, resume.State.Row);
            (startStep, tokens, previousSeconds) = (resume.State.Step, resume.State.Tokens, resume.State.ElapsedSeconds);
            lastCheckpoint = resume.Directory;
        }
        log.TruncateAfter(startStep);

        using var progress = o.Progress ? TrainingProgress.ForStandardError(startStep, o.Steps) : null;
        var clock = Stopwatch.StartNew();
        double? lastLoss = null, lastEval = null;
        long sessionTokens = 0;
        int step = startStep, savedStep = startStep;

        void Checkpoint()
        {
            var state = new TrainerState
            {
                Step = step, Epoch = _train.Position.Epoch, Row = _train.Position.Row, Tokens = tokens,
                ElapsedSeconds = previousSeconds + clock.Elapsed.TotalSeconds, AdamSteps = optimizer.StepCount, Seed = o.Seed,
                SequenceLength = o.SequenceLength, BatchRows = o.BatchRows, GradientAccumulation = o.GradientAccumulation,
                Objective = _objective.Name,
            };
            TrainingCheckpoints.Save(o.RunDirectory, _model, optimizer, state, _generation, _tokenizerDir);
            TrainingCheckpoints.Prune(o.RunDirectory, o.KeepCheckpoints);
            (savedStep, lastCheckpoint) = (step, TrainingCheckpoints.PathOf(o.RunDirectory, step));
            log.Plot();
        }

        while (step < o.Steps)
        {
            if (cancellation.IsCancellationRequested)
            {
                if (step > savedStep) Checkpoint();
                throw new TrainingStoppedException(step, o.Steps, step > startStep ? lastCheckpoint : null);
            }
            var stepClock = Stopwatch.StartNew();
            double learningRate = schedule.At(step);
            var (loss, gradNorm) = TrainStep(step, optimizer, learningRate);
            if (!double.IsFinite(loss) || !double.IsFinite(gradNorm))
                throw new TrainingDivergedException(step + 1, double.IsFinite(loss) ? "gradient norm" : "loss",
                    double.IsFinite(loss) ? gradNorm : loss, o.LearningRate, learningRate, lastCheckpoint);
            step++;
            long stepTokens = (long)o.RowsPerStep * o.SequenceLength;
            tokens += stepTokens;
            sessionTokens += stepTokens;
            lastLoss = loss;
            double rate = sessionTokens / clock.Elapsed.TotalSeconds;
            var record = new StepRecord(step, loss, learningRate, gradNorm, tokens, stepTokens / stepClock.Elapsed.TotalSeconds);
            log.Append(new JsonObject
            {
                ["type"] = "train", ["step"] = step, ["loss"] = loss, ["lr"] = record.LearningRate, ["grad_norm"] = gradNorm,
                ["tokens"] = tokens, ["tokens_per_s"] = Math.Round(record.TokensPerSecond, 1),
                ["elapsed_s"] = Math.Round(previousSeconds + clock.Elapsed.TotalSeconds, 3),
            });

            bool last = step == o.Steps;
            if (_eval.Count > 0 && (last || (o.EvalEvery > 0 && step % o.EvalEvery == 0)))
            {
                double evalLoss = Evaluate();
                if (!double.IsFinite(evalLoss))
                    throw new TrainingDivergedException(step, "held-out loss", evalLoss, o.LearningRate, learningRate, lastCheckpoint);
                lastEval = evalLoss;
                log.Append(new JsonObject { ["type"] = "eval", ["step"] = step, ["loss"] = evalLoss, ["tokens"] = tokens });
                Evaluated?.Invoke(step, evalLoss);
                log.Plot();
            }
            var eta = TimeSpan.FromSeconds((o.Steps - step) * (clock.Elapsed.TotalSeconds / (step - startStep)));
            progress?.Update(new ProgressSnapshot(step, o.Steps, loss, lastEval, rate, eta));
            StepCompleted?.Invoke(record);

            if (last || (o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0)) Checkpoint();
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double tokensPerSecond = sessionTokens / Math.Max(seconds, 1e-9);
        double modelTokensPerToken = _objective is BlockDiffusionObjective ? 2 : 1;
        return new TrainingSummary(step, startStep, tokens, previousSeconds + seconds, lastLoss, lastEval, tokensPerSecond,
            6.0 * _model.ParameterCount() * tokensPerSecond * modelTokensPerToken);
    }

    /// <summary>One optimiser step over <see cref="TrainerOptions.GradientAccumulation"/> micro-batches; returns (loss, grad norm).</summary>
    private (double Loss, double GradNorm) TrainStep(int step, AdamW optimizer, double learningRate)
    {
        var o = _options;
        var rows = _train.Take(o.RowsPerStep);
        var batches = Enumerable.Range(0, o.GradientAccumulation)
            .Select(m => _objective.Build(rows.GetRange(m * o.BatchRows, o.BatchRows), new DeterministicRandom(o.Seed, step, m)))
            .ToList();
        // Normalise by the label tokens of the whole step, so accumulation gives the full batch's gradient.
        double labels = Math.Max(1, batches.Sum(b => b.LabelCount));
        double loss = 0;
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            var microLoss = batch.Loss(_model, labels);
            microLoss.backward();
            loss += microLoss.item<float>();
        }
        double gradNorm;
        using (var scope = NewDisposeScope())
        {
            var parameters = optimizer.Parameters.ToList();
            gradNorm = o.GradientClip > 0
                ? nn.utils.clip_grad_norm_(parameters, o.GradientClip)
                : GradientNorm(parameters);
            optimizer.Step(learningRate);
            optimizer.ZeroGrad();
        }
        return (loss, gradNorm);
    }

    /// <summary>The loss on the held-out rows, with noise drawn from a fixed stream so evaluations compare.</summary>
    public double Evaluate()
    {
        _model.eval();
        try
        {
            using var _ = no_grad();
            var batches = _eval.Chunk(_options.BatchRows)
                .Select((rows, i) => _objective.Build(rows, new DeterministicRandom(_options.Seed, -1, i))).ToList();
            double labels = Math.Max(1, batches.Sum(b => b.LabelCount));
            double total = 0;
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                total += batch.Loss(_model, labels).item<float>();
            }
            return total;
        }
        finally
        {
            _model.train();
        }
    }

    private static double GradientNorm(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
            if (p.grad is { } g)
            {
                using var squares = g.square();   // not pow(2), whose implicit Scalar the GC may free mid-call
                using var total = squares.sum();
                sum += total.item<float>();
            }
        return Math.Sqrt(sum);
    }

    private void CheckCompatible(TrainerState state, string directory)
    {
        void Same<T>(T saved, T now, TrainingFlag flag)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, now))
                throw new OptionException(flag,
                    $"is {now}, but the checkpoint to resume ({directory}) was trained with {saved}; keep it, or start a new --run-dir");
        }
        Same(state.SequenceLength, _options.SequenceLength, TrainingFlag.SeqLength);
        Same(state.BatchRows, _options.BatchRows, TrainingFlag.BatchRows);
        Same(state.GradientAccumulation, _options.GradientAccumulation, TrainingFlag.GradAccum);
        Same(state.Seed, _options.Seed, TrainingFlag.Seed);
        // The objective follows from the verb and the model, not from a flag of its own.
        if (state.Objective != _objective.Name)
            throw new OptionException(TrainingFlag.RunDir,
                $"{_options.RunDirectory} holds checkpoints of a '{state.Objective}' run ({directory}), but this run trains '{_objective.Name}'; start a new --run-dir");
    }
}
