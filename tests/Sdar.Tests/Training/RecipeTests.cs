using System.Text.Json.Nodes;
using Sdar.Checkpoints;
using Sdar.Tests.Checkpoints;
using Sdar.Tokenization;
using Sdar.Training;
using Sdar.Training.Modeling;
using Sdar.Training.Recipes;

namespace Sdar.Tests.Training;

/// <summary>The Pretrain, Convert and Sft entry points end to end on tiny models, and their option checks.</summary>
public class RecipeTests
{
    private static string TextData(TempDir dir)
    {
        string path = dir.File("text.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 40).Select(i =>
            i % 2 == 0 ? $"{{\"text\": \"the cat sat on mat number {i} and then it sat again\"}}"
                       : $"{{\"question\": \"what is {i} plus {i}?\", \"answer\": \"{i} + {i} = {2 * i}\\n#### {2 * i}\"}}"));
        return path;
    }

    private static string ChatData(TempDir dir)
    {
        string path = dir.File("chat.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 30).Select(i =>
            $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"add {i} and {i}\"}}, {{\"role\": \"assistant\", \"content\": \"{2 * i}\"}}]}}"));
        return path;
    }

    private static TrainerOptions Trainer(TempDir dir, string name) => new()
    {
        Steps = 2, RunDirectory = dir.File(name + "-run"), BatchRows = 2, SequenceLength = 32, Progress = false, EvalEvery = 1,
    };

    [Fact]
    public void Convert_then_sft_produces_sdar_checkpoints_the_engine_opens()
    {
        using var dir = new TempDir();
        var convert = Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "convert"), OutputDirectory = dir.File("sdar"),
        });
        using (var checkpoint = Checkpoint.Open(convert.ModelDirectory))
        {
            Assert.Equal("sdar", checkpoint.Config.ModelType);
            Assert.Equal(4, checkpoint.Config.BlockSize);
            Assert.Equal(511, checkpoint.Config.MaskTokenId);   // the fixture tokenizer already has <|MASK|>
            Assert.Equal(512, checkpoint.Config.VocabSize);
        }
        Assert.True(File.Exists(Path.Combine(convert.RunDirectory, "log.jsonl")));
        Assert.True(File.Exists(Path.Combine(convert.RunDirectory, "loss.png")));
        Assert.NotNull(convert.Summary.FinalEvalLoss);

        var sft = Recipes.Sft(new SftOptions
        {
            ModelDirectory = convert.ModelDirectory, Data = new DataOptions { TrainFiles = [ChatData(dir)] },
            Trainer = Trainer(dir, "sft") with { Schedule = ScheduleKind.Constant, LearningRate = 1e-5 }, OutputDirectory = dir.File("sdar-b8"),
            BlockLength = 8,
        });
        using var sftCheckpoint = Checkpoint.Open(sft.ModelDirectory);
        Assert.Equal(8, sftCheckpoint.Config.BlockSize);
        Assert.Equal(Sdar.Model.DType.BF16, sftCheckpoint.Weights.EmbedTokens.DType);
    }

    [Fact]
    public void Pretrain_writes_an_ar_model_with_the_tokenizer()
    {
        using var dir = new TempDir();
        var config = TrainingTestModels.Config(sdar: false) with { VocabSize = 0, EosTokenId = null, EosTokenIds = [], PadTokenId = null };
        var report = Recipes.Pretrain(new PretrainOptions
        {
            Model = config, TokenizerDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "pretrain"), OutputDirectory = dir.File("ar"),
        });
        using var checkpoint = Checkpoint.Open(report.ModelDirectory);
        Assert.Equal("qwen3", checkpoint.Config.ModelType);
        Assert.Equal(512, checkpoint.Config.VocabSize);
        Assert.Equal(510, checkpoint.Config.EosTokenId);
        Assert.Equal([510], checkpoint.GenerationConfig.EosTokenIds);
        Assert.True(File.Exists(Path.Combine(report.ModelDirectory, "tokenizer.json")));
        Assert.Equal(2, report.Summary.Steps);
    }

    [Fact]
    public void Every_recipe_appends_its_stage_to_training_json_so_paths_compare_at_equal_compute()
    {
        using var dir = new TempDir();
        var config = TrainingTestModels.Config(sdar: false) with { VocabSize = 0, EosTokenId = null, EosTokenIds = [], PadTokenId = null };
        var ar = Recipes.Pretrain(new PretrainOptions
        {
            Model = config, TokenizerDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "pretrain"), OutputDirectory = dir.File("ar"),
        });
        var sdar = Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = ar.ModelDirectory, Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "convert") with { Steps = 3 }, OutputDirectory = dir.File("sdar"),
        });
        var sft = Recipes.Sft(new SftOptions
        {
            ModelDirectory = sdar.ModelDirectory, Data = new DataOptions { TrainFiles = [ChatData(dir)] },
            Trainer = Trainer(dir, "sft") with { Schedule = ScheduleKind.Constant }, OutputDirectory = dir.File("sdar-b8"), BlockLength = 8,
        });

        var history = TrainingProvenance.Load(sft.ModelDirectory)!;
        Assert.True(history.FromInitialisation);
        Assert.Equal(sft.Parameters, history.Parameters);
        Assert.Equal(["pretrain", "convert", "sft"], history.Stages.Select(s => s.Recipe));
        Assert.Equal([null, 4, 8], history.Stages.Select(s => s.BlockLength));
        Assert.Equal([2, 3, 2], history.Stages.Select(s => s.Steps));
        long rowTokens = 2 * 32;   // BatchRows x SequenceLength per step
        Assert.Equal([2 * rowTokens, 3 * rowTokens, 2 * rowTokens], history.Stages.Select(s => s.Tokens));
        // The [noised, clean] layout puts every diffusion token through the model twice.
        Assert.Equal([2 * rowTokens, 6 * rowTokens, 4 * rowTokens], history.Stages.Select(s => s.ModelTokens));
        Assert.Equal(6.0 * sft.Parameters * 12 * rowTokens, history.Flops);
        Assert.Single(TrainingProvenance.Load(ar.ModelDirectory)!.Stages);

        // A source folder without training.json (a downloaded checkpoint) leaves the history incomplete.
        var fromFixture = Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "convert-fixture"), OutputDirectory = dir.File("sdar-fixture"),
        });
        var partial = TrainingProvenance.Load(fromFixture.ModelDirectory)!;
        Assert.False(partial.FromInitialisation);
        Assert.Single(partial.Stages);
    }

    [Fact]
    public void A_malformed_training_json_is_refused_naming_the_field_before_any_training()
    {
        using var dir = new TempDir();
        string model = dir.File("ar");
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(TestFiles.Fixture("tiny-qwen3"))) File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(model, TrainingProvenance.FileName),
            """{"parameters": 10, "from_initialisation": true, "stages": [{"recipe": "pretrain", "objective": "autoregressive", "steps": "two", "tokens": 1, "model_tokens": 1, "seconds": 1}]}""");
        var error = Assert.Throws<InvalidDataException>(() => Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = model, Data = new DataOptions { TrainFiles = [TextData(dir)] },
            Trainer = Trainer(dir, "convert"), OutputDirectory = dir.File("sdar"),
        }));
        Assert.Contains("training.json", error.Message);
        Assert.Contains("stages[0].steps", error.Message);
        Assert.False(File.Exists(Path.Combine(dir.File("convert-run"), "log.jsonl")));
        Assert.False(Directory.Exists(dir.File("sdar")));
    }

    [Fact]
    public void Conversion_adds_a_mask_token_and_rows_when_the_tokenizer_has_none()
    {
        using var dir = new TempDir();
        // An AR model whose vocabulary ends before <|MASK|>: drop the token from the tokenizer and row 511 from the weights.
        string ar = dir.File("ar");
        using (var full = ModelFolder.Load(TestFiles.Fixture("tiny-qwen3")))
        using (var small = new Qwen3ForCausalLM(full.Config with { VocabSize = 511 }))
        {
            var tensors = ModelFolder.ToWeightTensors(full, Sdar.Model.DType.F32);
            foreach (var key in new[] { "model.embed_tokens.weight", "lm_head.weight" })
                tensors[key] = new Sdar.Model.WeightTensor(key, Sdar.Model.DType.F32, [511, 64],
                    ModelFolder.Encode(ModelFolder.ToFloats(tensors[key])[..(511 * 64)], Sdar.Model.DType.F32));
            ModelFolder.CopyInto(small, tensors, "test");
            ModelFolder.Save(small, ar, Sdar.Model.DType.F32, null, TestFiles.Fixture("tiny-qwen3"));
        }
        var tokenizerJson = JsonNode.Parse(File.ReadAllText(Path.Combine(ar, "tokenizer.json")))!;
        var added = tokenizerJson["added_tokens"]!.AsArray();
        added.Remove(added.Single(t => t!["content"]!.GetValue<string>() == "<|MASK|>"));
        File.WriteAllText(Path.Combine(ar, "tokenizer.json"), tokenizerJson.ToJsonString());

        using var arModel = ModelFolder.Load(ar);
        using var sdar = MaskTokenConversion.Convert(arModel, ar, 4, dir.File("tok"));
        Assert.Equal(511, sdar.Config.MaskTokenId);
        Assert.Equal(512, sdar.Config.VocabSize);
        Assert.Equal("sdar", sdar.Config.ModelType);
        var tokenizer = HfTokenizer.FromDirectory(dir.File("tok"));
        Assert.Equal(511, tokenizer.TokenToId("<|MASK|>"));
        Assert.True(tokenizer.IsSpecial(511));
        var embed = sdar.model.embed_tokens.weight!;
        Assert.True(embed[511].allclose(arModel.model.embed_tokens.weight!.mean([0]), 1e-5, 1e-6));
        Assert.True(embed[..511].allclose(arModel.model.embed_tokens.weight!, 0, 0));
        Assert.Contains("<|MASK|>", File.ReadAllText(dir.File("tok/tokenizer_config.json")));
    }

    [Fact]
    public void Options_are_validated_with_the_flag_named()
    {
        using var dir = new TempDir();
        var data = new DataOptions { TrainFiles = [TextData(dir)] };
        OptionException Fails(Action action) => Assert.Throws<OptionException>(action);

        Assert.Equal("block-length", Fails(() => Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = data, Trainer = Trainer(dir, "x"), OutputDirectory = dir.File("o"), BlockLength = 3,
        })).Option);
        Assert.Equal("model", Fails(() => Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-sdar"), Data = data, Trainer = Trainer(dir, "x"), OutputDirectory = dir.File("o"),
        })).Option);
        Assert.Equal("data", Fails(() => Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [dir.File("missing.jsonl")] },
            Trainer = Trainer(dir, "x"), OutputDirectory = dir.File("o"),
        })).Option);
        Assert.Equal("lr", Fails(() => Recipes.Convert(new ConvertOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = data, Trainer = Trainer(dir, "x") with { LearningRate = -1 }, OutputDirectory = dir.File("o"),
        })).Option);
        Assert.Equal("block-length", Fails(() => Recipes.Sft(new SftOptions
        {
            ModelDirectory = TestFiles.Fixture("tiny-qwen3"), Data = new DataOptions { TrainFiles = [ChatData(dir)] },
            Trainer = Trainer(dir, "x"), OutputDirectory = dir.File("o"), BlockLength = 4,
        })).Option);
        var error = Fails(() => Recipes.Pretrain(new PretrainOptions
        {
            Model = TrainingTestModels.Config(sdar: true), TokenizerDirectory = TestFiles.Fixture("tiny-qwen3"), Data = data,
            Trainer = Trainer(dir, "x"), OutputDirectory = dir.File("o"),
        }));
        // The model type has no flag (sdar train always builds qwen3), so the message names the setting, not a flag.
        Assert.Equal("PretrainOptions.Model.ModelType", error.Option);
        Assert.StartsWith("PretrainOptions.Model.ModelType must be qwen3", error.Message);
    }
}
