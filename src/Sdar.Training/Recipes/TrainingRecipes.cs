using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Model;
using Sdar.Templates;
using Sdar.Tokenization;
using Sdar.Training.Data;
using Sdar.Training.Modeling;
using Sdar.Training.Objectives;

namespace Sdar.Training.Recipes;

/// <summary>Data options every recipe shares.</summary>
public sealed record DataOptions
{
    /// <summary>Training JSONL files.</summary>
    public required IReadOnlyList<string> TrainFiles { get; init; }
    /// <summary>Held-out JSONL files; when empty, <see cref="EvalFraction"/> of the training samples is held out.</summary>
    public IReadOnlyList<string> EvalFiles { get; init; } = [];
    public double EvalFraction { get; init; } = 0.02;
    /// <summary>Packed rows the periodic evaluation scores (the same rows every time).</summary>
    public int EvalRows { get; init; } = 16;

    public void Validate()
    {
        OptionException.Require(TrainFiles.Count > 0, TrainingFlag.Data, "needs at least one training JSONL file");
        foreach (var file in TrainFiles.Concat(EvalFiles))
            OptionException.Require(File.Exists(file), TrainFiles.Contains(file) ? TrainingFlag.Data : TrainingFlag.EvalData, $"file not found: {file}");
        OptionException.RequireSetting(EvalFraction is >= 0 and < 1, "DataOptions.EvalFraction", $"must be in [0, 1) (got {EvalFraction})");
        OptionException.RequireSetting(EvalRows >= 0, "DataOptions.EvalRows", $"must not be negative (got {EvalRows})");
    }
}

/// <summary>AR pretraining from scratch: a Qwen3 config and a tokenizer.</summary>
public sealed record PretrainOptions
{
    /// <summary>The architecture (model_type "qwen3" or "qwen3_moe"); VocabSize 0 takes the tokenizer's size.</summary>
    public required ModelConfig Model { get; init; }
    /// <summary>A folder with tokenizer.json (and tokenizer_config.json); its files are copied to the model.</summary>
    public required string TokenizerDirectory { get; init; }
    public required DataOptions Data { get; init; }
    public required TrainerOptions Trainer { get; init; }
    /// <summary>Where the trained model folder is written.</summary>
    public required string OutputDirectory { get; init; }
    public DType SaveDType { get; init; } = DType.BF16;

    public void Validate()
    {
        OptionException.RequireSetting(Model.ModelType is "qwen3" or "qwen3_moe", "PretrainOptions.Model.ModelType", $"must be qwen3 or qwen3_moe for AR pretraining (got '{Model.ModelType}')");
        OptionException.Require(File.Exists(Path.Combine(TokenizerDirectory, "tokenizer.json")), TrainingFlag.Tokenizer, $"no tokenizer.json in {TokenizerDirectory}");
        Recipes.ValidateCommon(Data, Trainer, OutputDirectory, SaveDType);
    }
}

/// <summary>AR checkpoint to SDAR: continued pretraining with the block diffusion objective (DESIGN section 3).</summary>
public sealed record ConvertOptions
{
    /// <summary>The AR (qwen3) model folder.</summary>
    public required string ModelDirectory { get; init; }
    public required DataOptions Data { get; init; }
    public required TrainerOptions Trainer { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>B of the block diffusion objective; SDAR converts with 4 and reuses the weights for larger B.</summary>
    public int BlockLength { get; init; } = 4;
    public DType SaveDType { get; init; } = DType.BF16;

    public void Validate()
    {
        OptionException.Require(File.Exists(Path.Combine(ModelDirectory, "config.json")), TrainingFlag.Model, $"no config.json in {ModelDirectory}");
        Recipes.ValidateBlockLength(BlockLength, Trainer.SequenceLength);
        Recipes.ValidateCommon(Data, Trainer, OutputDirectory, SaveDType);
    }
}

/// <summary>Supervised fine-tuning on chat data, for AR or SDAR models.</summary>
public sealed record SftOptions
{
    /// <summary>The model folder (qwen3 or sdar); its tokenizer must have a chat template.</summary>
    public required string ModelDirectory { get; init; }
    /// <summary>Chat JSONL: {"messages": [...]} lines (or {"question", "answer"} lines).</summary>
    public required DataOptions Data { get; init; }
    public required TrainerOptions Trainer { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>SDAR models only: B for training and in the saved config; null keeps the model's block_size.</summary>
    public int? BlockLength { get; init; }
    public DType SaveDType { get; init; } = DType.BF16;

    public void Validate()
    {
        OptionException.Require(File.Exists(Path.Combine(ModelDirectory, "config.json")), TrainingFlag.Model, $"no config.json in {ModelDirectory}");
        if (BlockLength is { } b) Recipes.ValidateBlockLength(b, Trainer.SequenceLength);
        Recipes.ValidateCommon(Data, Trainer, OutputDirectory, SaveDType);
    }
}

/// <summary>What a recipe produced.</summary>
public sealed record TrainingReport(string ModelDirectory, string RunDirectory, long Parameters, long TrainSamples, long EvalSamples,
    TrainingSummary Summary);

/// <summary>
/// The three training entry points the CLI calls: <see cref="Pretrain"/> (AR from scratch), <see cref="Convert"/>
/// (AR to SDAR) and <see cref="Sft"/>. Each validates its options (errors name the flag), trains with
/// <see cref="Trainer"/> and writes a complete HF model folder. The output folders are checked and locked
/// (<see cref="TrainingOutputs"/>) before anything is loaded; a cancelled <c>cancellation</c> stops the run after a
/// step with a checkpoint (<see cref="TrainingStoppedException"/>) and writes no model folder.
/// </summary>
public static class Recipes
{
    public static TrainingReport Pretrain(PretrainOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        using var outputs = TrainingOutputs.Claim(options.OutputDirectory, options.Trainer.RunDirectory);
        var tokenizer = HfTokenizer.FromDirectory(options.TokenizerDirectory);
        int eos = EosId(tokenizer, options.Model, TrainingFlag.Tokenizer);
        var config = options.Model with
        {
            VocabSize = options.Model.VocabSize > 0 ? options.Model.VocabSize : tokenizer.VocabSize,
            EosTokenId = eos,
            EosTokenIds = options.Model.EosTokenIds.Count > 0 ? options.Model.EosTokenIds : [eos],
            PadTokenId = options.Model.PadTokenId ?? eos,
        };
        OptionException.Require(config.VocabSize >= tokenizer.VocabSize, TrainingFlag.VocabSize, $"is {config.VocabSize}, smaller than the tokenizer's {tokenizer.VocabSize} ids");
        ConfigLoader.Validate(config, "model config");

        var samples = TextCorpus.Load(options.Data.TrainFiles, Encoder(tokenizer), eos);
        var evalSamples = options.Data.EvalFiles.Count > 0 ? TextCorpus.Load(options.Data.EvalFiles, Encoder(tokenizer), eos) : null;
        int length = options.Trainer.SequenceLength;
        using var model = new Qwen3ForCausalLM(config);
        ModelInitialization.Initialize(model, options.Trainer.Seed);
        return Run("pretrain", model, new AutoregressiveObjective(), samples, evalSamples, s => RowPacker.PackStream(s, length, eos),
            options.Data, options.Trainer, options.OutputDirectory, options.SaveDType, options.TokenizerDirectory, cancellation);
    }

    public static TrainingReport Convert(ConvertOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        using var outputs = TrainingOutputs.Claim(options.OutputDirectory, options.Trainer.RunDirectory);
        var arConfig = ConfigLoader.LoadModelConfig(Path.Combine(options.ModelDirectory, "config.json"));
        OptionException.Require(!arConfig.IsDiffusion, TrainingFlag.Model, $"{options.ModelDirectory} is already an SDAR model (model_type '{arConfig.ModelType}'); convert takes an AR (qwen3) model");
        var tokenizer = HfTokenizer.FromDirectory(options.ModelDirectory);
        int eos = EosId(tokenizer, arConfig, TrainingFlag.Model);
        var samples = TextCorpus.Load(options.Data.TrainFiles, Encoder(tokenizer), eos);
        var evalSamples = options.Data.EvalFiles.Count > 0 ? TextCorpus.Load(options.Data.EvalFiles, Encoder(tokenizer), eos) : null;

        string tokenizerDir = Path.Combine(options.Trainer.RunDirectory, "tokenizer");
        using var arModel = ModelFolder.Load(options.ModelDirectory);
        using var model = MaskTokenConversion.Convert(arModel, options.ModelDirectory, options.BlockLength, tokenizerDir);
        int length = options.Trainer.SequenceLength;
        var objective = new BlockDiffusionObjective(options.BlockLength, model.Config.MaskTokenId!.Value);
        return Run("convert", model, objective, samples, evalSamples, s => RowPacker.PackStream(s, length, eos),
            options.Data, options.Trainer, options.OutputDirectory, options.SaveDType, tokenizerDir, cancellation, options.ModelDirectory);
    }

    public static TrainingReport Sft(SftOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        using var outputs = TrainingOutputs.Claim(options.OutputDirectory, options.Trainer.RunDirectory);
        var tokenizer = HfTokenizer.FromDirectory(options.ModelDirectory);
        OptionException.Require(tokenizer.ChatTemplate is not null, TrainingFlag.Model, $"{options.ModelDirectory} has no chat template (tokenizer_config.json chat_template or chat_template.jinja)");
        using var model = ModelFolder.Load(options.ModelDirectory);
        var config = model.Config;
        int eos = EosId(tokenizer, config, TrainingFlag.Model);
        int pad = config.PadTokenId ?? eos;
        ITrainingObjective objective;
        int padMultiple = 1;
        if (config.IsDiffusion)
        {
            int block = options.BlockLength ?? config.BlockSize;
            Recipes.ValidateBlockLength(block, options.Trainer.SequenceLength);
            OptionException.Require(config.MaskTokenId is not null, TrainingFlag.Model, $"{options.ModelDirectory}: config.json has no mask_token_id");
            objective = new BlockDiffusionObjective(block, config.MaskTokenId!.Value);
            padMultiple = block;
            config = config with { BlockSize = block };
        }
        else
        {
            OptionException.Require(options.BlockLength is null, TrainingFlag.BlockLength, "applies to SDAR models only; this model is AR (model_type '" + config.ModelType + "')");
            objective = new AutoregressiveObjective();
        }
        model.UpdateConfig(config);

        var chat = ChatCorpus.WithTemplate(Encoder(tokenizer), ChatTemplate.Parse(tokenizer.ChatTemplate!), tokenizer.BosToken ?? "", tokenizer.EosToken ?? "");
        var samples = chat.Load(options.Data.TrainFiles);
        var evalSamples = options.Data.EvalFiles.Count > 0 ? chat.Load(options.Data.EvalFiles) : null;
        int length = options.Trainer.SequenceLength;
        return Run("sft", model, objective, samples, evalSamples, s => RowPacker.PackWhole(s, length, pad, padMultiple),
            options.Data, options.Trainer, options.OutputDirectory, options.SaveDType, options.ModelDirectory, cancellation, options.ModelDirectory);
    }

    /// <param name="sourceDirectory">The folder the run started from (its generation config and training.json are carried on); null from scratch.</param>
    private static TrainingReport Run(string recipe, Qwen3ForCausalLM model, ITrainingObjective objective, List<TrainingSample> samples,
        List<TrainingSample>? evalSamples, Func<IEnumerable<TrainingSample>, List<PackedRow>> pack, DataOptions data,
        TrainerOptions trainerOptions, string outputDirectory, DType saveDType, string tokenizerDir, CancellationToken cancellation,
        string? sourceDirectory = null)
    {
        if (evalSamples is null)
        {
            // Hold out a deterministic fraction of the training samples.
            var order = Enumerable.Range(0, samples.Count).ToArray();
            new DeterministicRandom(trainerOptions.Seed, 0xE7A1).Shuffle(order);
            int held = data.EvalRows == 0 ? 0 : Math.Min(samples.Count - 1, (int)Math.Ceiling(samples.Count * data.EvalFraction));
            evalSamples = order.Take(held).Select(i => samples[i]).ToList();
            samples = order.Skip(held).Order().Select(i => samples[i]).ToList();
        }
        var evalRows = evalSamples.Count == 0 ? [] : pack(evalSamples).Take(data.EvalRows).ToList();
        var source = new PackedRowSource(samples, pack, trainerOptions.Seed);
        var generation = GenerationFor(model.Config, sourceDirectory);
        // Read before training, so that a malformed file fails now rather than after the run.
        var history = sourceDirectory is null ? null : TrainingProvenance.Load(sourceDirectory);
        var trainer = new Trainer(model, objective, source, evalRows, trainerOptions, generation, tokenizerDir);
        var summary = trainer.Run(cancellation);
        bool diffusion = objective is BlockDiffusionObjective;
        var stage = new TrainingStage(recipe, diffusion ? "block-diffusion" : "autoregressive",
            diffusion ? ((BlockDiffusionObjective)objective).BlockLength : null, summary.Steps, summary.Tokens,
            diffusion ? 2 * summary.Tokens : summary.Tokens, summary.Seconds);
        var provenance = TrainingProvenance.Extend(history, sourceDirectory is null, model.ParameterCount(), stage);
        ModelFolder.Save(model, outputDirectory, saveDType, generation, tokenizerDir, provenance.Write);
        return new TrainingReport(Path.GetFullPath(outputDirectory), Path.GetFullPath(trainerOptions.RunDirectory), model.ParameterCount(),
            samples.Count, evalSamples.Count, summary);
    }

    private static GenerationConfig GenerationFor(ModelConfig config, string? sourceDirectory)
    {
        // A model trained from scratch here is greedy by default (as transformers decodes without a
        // generation_config); conversion and fine-tuning keep what their source folder says.
        var existing = sourceDirectory is null
            ? GenerationConfig.Empty with { DoSample = false }
            : ConfigLoader.LoadGenerationConfig(Path.Combine(sourceDirectory, "generation_config.json"));
        return existing with
        {
            EosTokenIds = existing.EosTokenIds.Count > 0 ? existing.EosTokenIds : config.EosTokenIds.Count > 0 ? config.EosTokenIds : config.EosTokenId is { } e ? [e] : [],
            PadTokenId = existing.PadTokenId ?? config.PadTokenId,
        };
    }

    private static Func<string, int[]> Encoder(HfTokenizer tokenizer) => text => [.. tokenizer.Encode(text)];

    private static int EosId(HfTokenizer tokenizer, ModelConfig config, TrainingFlag tokenizerFlag)
    {
        if (config.EosTokenId is { } id) return id;
        foreach (var name in new[] { tokenizer.EosToken, "<|endoftext|>", "<|im_end|>" })
            if (name is not null && tokenizer.TokenToId(name) is { } found) return found;
        throw new OptionException(tokenizerFlag, "has no end-of-sequence token in its tokenizer (eos_token in tokenizer_config.json, or <|endoftext|>)");
    }

    internal static void ValidateBlockLength(int blockLength, int sequenceLength)
    {
        OptionException.Require(blockLength >= 1 && (blockLength & (blockLength - 1)) == 0 && blockLength <= 256, TrainingFlag.BlockLength,
            $"must be a power of two from 1 to 256 (got {blockLength})");
        OptionException.Require(sequenceLength % blockLength == 0, TrainingFlag.SeqLength, $"({sequenceLength}) must be a multiple of --block-length ({blockLength})");
    }

    internal static void ValidateCommon(DataOptions data, TrainerOptions trainer, string outputDirectory, DType saveDType)
    {
        OptionException.Require(!string.IsNullOrWhiteSpace(outputDirectory), TrainingFlag.Out, "is required");
        OptionException.Require(saveDType is DType.BF16 or DType.F32, TrainingFlag.SaveDtype, $"must be BF16 or F32 (got {saveDType})");
        trainer.Validate();
        data.Validate();
    }
}
