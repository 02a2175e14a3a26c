using System.CommandLine;
using System.Globalization;
using Sdar.Config;
using Sdar.Model;
using Sdar.Training;
using Sdar.Training.Modeling;
using Sdar.Training.Recipes;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar train</c> (AR from scratch), <c>sdar convert</c> (AR checkpoint to SDAR by continued pretraining with the
/// block-diffusion objective) and <c>sdar sft</c> (chat data, AR or SDAR): thin layers over <see cref="Recipes"/>.
/// Ctrl-C or SIGTERM stops a run after the current step with a checkpoint; the verb then exits 130 or 143.
/// </summary>
internal static class TrainingCommands
{
    /// <summary>Largest width, depth or head count a flag accepts; the model config checks the products.</summary>
    private const int MaxModelDimension = 1 << 20;

    /// <summary>The trainer and data flags every training verb shares.</summary>
    private sealed class TrainerFlags
    {
        public readonly Option<string[]> Data = new("--data") { Description = "Training JSONL file(s): {\"text\"} or {\"question\",\"answer\"} lines (train, convert), {\"messages\"} lines (sft).", Required = true, HelpName = "FILE", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string[]> EvalData = new("--eval-data") { Description = "Held-out JSONL file(s) for evaluation; default: 2% of the training samples.", HelpName = "FILE", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string> Output = new("--out", "-o") { Description = "Model folder to write (HF layout, written atomically at the end).", Required = true, HelpName = "DIR" };
        public readonly Option<string?> Run = new("--run-dir") { Description = "Folder for checkpoints, log.jsonl and loss.png; default: OUT.run. An existing run resumes from its last checkpoint.", HelpName = "DIR" };
        public readonly Option<int> Steps = new("--steps") { Description = "Optimizer steps.", Required = true, HelpName = "N" };
        public readonly Option<int> BatchRows = new("--batch-rows") { Description = "Packed rows per micro-batch.", DefaultValueFactory = _ => 8, HelpName = "N" };
        public readonly Option<int> GradAccum = new("--grad-accum") { Description = "Micro-batches per optimizer step.", DefaultValueFactory = _ => 1, HelpName = "N" };
        public readonly Option<int> SeqLength = new("--seq-length") { Description = "Tokens per packed row.", DefaultValueFactory = _ => 256, HelpName = "N" };
        public readonly Option<double> LearningRate = new("--lr") { Description = "Peak learning rate.", HelpName = "X" };
        public readonly Option<ScheduleKind> Schedule = new("--schedule") { Description = "Learning-rate schedule after warm-up: Cosine or Constant.", HelpName = "KIND" };
        public readonly Option<int> Warmup = new("--warmup") { Description = "Warm-up steps (linear from 0).", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "AdamW weight decay.", DefaultValueFactory = _ => 0.1, HelpName = "X" };
        public readonly Option<double> Clip = new("--clip") { Description = "Gradient norm clipping (0 = off).", DefaultValueFactory = _ => 1.0, HelpName = "X" };
        public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Evaluate on held-out rows every N steps (0 = only at the end).", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "Write a resumable checkpoint every N steps (0 = only at the end).", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<long> Seed = new("--seed") { Description = "Seed of initialisation, noise and data order.", DefaultValueFactory = _ => 0, HelpName = "N" };
        public readonly Option<ComputePrecision> Precision = new("--precision") { Description = "Matrix products in Bf16 (default, faster on this CPU) or Fp32; master weights stay float32.", DefaultValueFactory = _ => ComputePrecision.Bf16, HelpName = "P" };
        public readonly Option<DType> SaveDtype = new("--save-dtype") { Description = "Dtype of the saved model weights: BF16 (default) or F32.", DefaultValueFactory = _ => DType.BF16, HelpName = "DTYPE" };
        public readonly Option<bool> NoResume = new("--no-resume") { Description = "Start over even if the run folder has checkpoints." };

        public TrainerFlags(double defaultLearningRate, ScheduleKind defaultSchedule)
        {
            LearningRate.DefaultValueFactory = _ => defaultLearningRate;
            Schedule.DefaultValueFactory = _ => defaultSchedule;
            Steps.Integer(1, 1_000_000_000);
            BatchRows.Integer(1, 65_536);
            GradAccum.Integer(1, 65_536);
            SeqLength.Integer(1, CliParsing.MaxTokens);
            foreach (var option in new[] { Warmup, EvalEvery, CheckpointEvery }) option.Integer(0, 1_000_000_000);
            // The learning rate has no upper bound on purpose: a run that diverges is stopped with the step named.
            LearningRate.Real(0, double.MaxValue, lowExclusive: true);
            WeightDecay.Real(0, double.MaxValue);
            Clip.Real(0, double.MaxValue);
            Seed.Integer(long.MinValue);
            Schedule.OneOf();
            Precision.OneOf();
            SaveDtype.OneOf();
        }

        public void AddTo(Command command)
        {
            foreach (Option option in new Option[] { Data, EvalData, Output, Run, Steps, BatchRows, GradAccum, SeqLength, LearningRate, Schedule,
                         Warmup, WeightDecay, Clip, EvalEvery, CheckpointEvery, Seed, Precision, SaveDtype, NoResume })
                command.Add(option);
        }

        public DataOptions ReadData(ParseResult parse) => new()
        {
            TrainFiles = parse.GetValue(Data)!,
            EvalFiles = parse.GetValue(EvalData) ?? [],
        };

        public TrainerOptions ReadTrainer(ParseResult parse) => new()
        {
            Steps = parse.GetValue(Steps),
            RunDirectory = parse.GetValue(Run) ?? Path.GetFullPath(parse.GetValue(Output)!).TrimEnd('/') + ".run",
            BatchRows = parse.GetValue(BatchRows),
            GradientAccumulation = parse.GetValue(GradAccum),
            SequenceLength = parse.GetValue(SeqLength),
            LearningRate = parse.GetValue(LearningRate),
            Schedule = parse.GetValue(Schedule),
            WarmupSteps = parse.GetValue(Warmup),
            WeightDecay = parse.GetValue(WeightDecay),
            GradientClip = parse.GetValue(Clip),
            EvalEvery = parse.GetValue(EvalEvery),
            CheckpointEvery = parse.GetValue(CheckpointEvery),
            Seed = parse.GetValue(Seed),
            Precision = parse.GetValue(Precision),
            Resume = !parse.GetValue(NoResume),
        };
    }

    public static Command Train()
    {
        var flags = new TrainerFlags(defaultLearningRate: 1e-3, ScheduleKind.Cosine);
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with tokenizer.json (+ tokenizer_config.json), e.g. from `sdar tokenizer train`.", Required = true, HelpName = "DIR" };
        var hidden = new Option<int>("--hidden-size") { Description = "Model width.", DefaultValueFactory = _ => 256, HelpName = "N" };
        var layers = new Option<int>("--layers") { Description = "Decoder layers.", DefaultValueFactory = _ => 6, HelpName = "N" };
        var heads = new Option<int>("--heads") { Description = "Query heads.", DefaultValueFactory = _ => 4, HelpName = "N" };
        var kvHeads = new Option<int>("--kv-heads") { Description = "Key/value heads (grouped-query attention).", DefaultValueFactory = _ => 2, HelpName = "N" };
        var headDim = new Option<int>("--head-dim") { Description = "Dimension of each head.", DefaultValueFactory = _ => 64, HelpName = "N" };
        var intermediate = new Option<int>("--intermediate-size") { Description = "SwiGLU hidden width.", DefaultValueFactory = _ => 768, HelpName = "N" };
        var vocab = new Option<int?>("--vocab-size") { Description = "Embedding rows; default: the tokenizer's size (a round number above it leaves spare rows).", HelpName = "N" };
        var untied = new Option<bool>("--untied") { Description = "Separate LM head instead of tied embeddings." };
        foreach (var option in new[] { hidden, layers, heads, kvHeads, headDim, intermediate }) option.Integer(1, MaxModelDimension);
        vocab.Integer(1, CliParsing.MaxTokens);
        var command = new Command("train", "Pretrain an autoregressive Qwen3-architecture model from scratch (next-token loss, causal mask, packed rows).")
        {
            tokenizer, hidden, layers, heads, kvHeads, headDim, intermediate, vocab, untied,
        };
        flags.AddTo(command);
        command.SetAction(parse =>
        {
            var options = new PretrainOptions
            {
                Model = new ModelConfig
                {
                    ModelType = "qwen3",
                    HiddenSize = parse.GetValue(hidden),
                    IntermediateSize = parse.GetValue(intermediate),
                    NumHiddenLayers = parse.GetValue(layers),
                    NumAttentionHeads = parse.GetValue(heads),
                    NumKeyValueHeads = parse.GetValue(kvHeads),
                    HeadDim = parse.GetValue(headDim),
                    VocabSize = parse.GetValue(vocab) ?? 0,
                    RopeTheta = 10000,
                    MaxPositionEmbeddings = Math.Max(2048, parse.GetValue(flags.SeqLength)),
                    TieWordEmbeddings = !parse.GetValue(untied),
                    TorchDtype = "bfloat16",
                },
                TokenizerDirectory = parse.GetValue(tokenizer)!,
                Data = flags.ReadData(parse),
                Trainer = flags.ReadTrainer(parse),
                OutputDirectory = parse.GetValue(flags.Output)!,
                SaveDType = parse.GetValue(flags.SaveDtype),
            };
            return Stoppable(parse, stop => Recipes.Pretrain(options, stop));
        });
        return command;
    }

    public static Command Convert()
    {
        var flags = new TrainerFlags(defaultLearningRate: 3e-4, ScheduleKind.Cosine);
        var model = CliParsing.ModelOption();
        model.Description = "The AR (qwen3) model folder to convert.";
        var block = new Option<int>("--block-length", "-b") { Description = "Block length B of the diffusion objective (the paper converts with 4).", DefaultValueFactory = _ => 4, HelpName = "B" };
        block.Integer(1, MaxModelDimension);
        var command = new Command("convert", "Convert an AR checkpoint into an SDAR block-diffusion model by continued pretraining with the block-diffusion objective (DESIGN section 3).")
        {
            model, block,
        };
        flags.AddTo(command);
        command.SetAction(parse =>
        {
            var options = new ConvertOptions
            {
                ModelDirectory = parse.GetValue(model)!,
                BlockLength = parse.GetValue(block),
                Data = flags.ReadData(parse),
                Trainer = flags.ReadTrainer(parse),
                OutputDirectory = parse.GetValue(flags.Output)!,
                SaveDType = parse.GetValue(flags.SaveDtype),
            };
            return Stoppable(parse, stop => Recipes.Convert(options, stop));
        });
        return command;
    }

    public static Command Sft()
    {
        var flags = new TrainerFlags(defaultLearningRate: 1e-4, ScheduleKind.Constant);
        var model = CliParsing.ModelOption();
        model.Description = "The model folder to fine-tune (AR or SDAR).";
        var block = new Option<int?>("--block-length", "-b") { Description = "SDAR models: block length of the objective (default: the model's block_size); larger B is trained in SFT.", HelpName = "B" };
        block.Integer(1, MaxModelDimension);
        var command = new Command("sft", "Supervised fine-tuning on chat data ({\"messages\"} JSONL): only assistant tokens are labels; SDAR models use the block-diffusion objective with EOS padding to a block multiple.")
        {
            model, block,
        };
        flags.AddTo(command);
        command.SetAction(parse =>
        {
            var options = new SftOptions
            {
                ModelDirectory = parse.GetValue(model)!,
                BlockLength = parse.GetValue(block),
                Data = flags.ReadData(parse),
                Trainer = flags.ReadTrainer(parse),
                OutputDirectory = parse.GetValue(flags.Output)!,
                SaveDType = parse.GetValue(flags.SaveDtype),
            };
            return Stoppable(parse, stop => Recipes.Sft(options, stop));
        });
        return command;
    }

    /// <summary>
    /// Runs a recipe with Ctrl-C and SIGTERM turned into a graceful stop (<see cref="StopSignals"/>): the run saves a
    /// checkpoint after the current step, says where, and the verb exits 130 (SIGINT) or 143 (SIGTERM). The action is
    /// synchronous so that System.CommandLine installs no signal handling of its own (its asynchronous path ends the
    /// process two seconds after Ctrl-C, before a checkpoint could be written).
    /// </summary>
    private static int Stoppable(ParseResult parse, Func<CancellationToken, TrainingReport> recipe)
    {
        var error = parse.InvocationConfiguration.Error;
        using var signals = new StopSignals(error);
        try
        {
            return Report(parse, recipe(signals.Token));
        }
        catch (TrainingStoppedException stopped)
        {
            error.WriteLine($"sdar: {stopped.Message}");
            return signals.ExitCode;
        }
    }

    private static int Report(ParseResult parse, TrainingReport report)
    {
        var s = report.Summary;
        parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {report.ModelDirectory}: {report.Parameters:N0} parameters, {s.Steps} steps, {s.Tokens:N0} tokens in {s.Seconds:F0} s ({s.TokensPerSecond:F0} tokens/s, {s.FlopsPerSecond / 1e9:F1} GFLOP/s), final train loss {s.FinalTrainLoss:F4}, eval loss {s.FinalEvalLoss:F4}; run folder {report.RunDirectory}"));
        return 0;
    }
}
