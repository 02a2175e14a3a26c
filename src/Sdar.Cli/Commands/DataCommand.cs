using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Sdar.Data;
using Sdar.Tokenization;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar data generate</c>: the synthetic task suite as a dataset folder (GSM8K JSONL splits, chats, pretraining
/// text). <c>sdar data train-tokenizer</c>: a byte-level BPE trained on a corpus, written as a HuggingFace tokenizer.
/// </summary>
internal static class DataCommand
{
    /// <summary>Most items per split: 100 million lines is far beyond any useful synthetic set and still fits an int.</summary>
    private const int MaxItems = 100_000_000;

    public static Command Create() => new("data", "Make training data: the synthetic reasoning suite and a tokenizer trained on it.")
    {
        Generate(), TrainTokenizer(),
    };

    private static Command Generate()
    {
        var output = new Option<string>("--out", "-o") { Description = "Dataset folder to write.", Required = true, HelpName = "DIR" };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed and sizes write the same files.", DefaultValueFactory = _ => 1234, HelpName = "N" };
        var train = new Option<int>("--train") { Description = "Training items.", DefaultValueFactory = _ => 20_000, HelpName = "N" };
        var validation = new Option<int>("--validation") { Description = "Validation items.", DefaultValueFactory = _ => 500, HelpName = "N" };
        var test = new Option<int>("--test") { Description = "Test items (never in the other splits).", DefaultValueFactory = _ => 500, HelpName = "N" };
        seed.Integer(int.MinValue);
        foreach (var count in new[] { train, validation, test }) count.Integer(0, MaxItems);
        var command = new Command("generate",
            "Write train/validation/test.jsonl (GSM8K: question, answer ending '#### N'), sft.jsonl (chats) and pretrain.jsonl (text) from the training split, and manifest.json.")
        {
            output, seed, train, validation, test,
        };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var options = new DatasetOptions
            {
                Seed = parse.GetValue(seed), Train = parse.GetValue(train), Validation = parse.GetValue(validation), Test = parse.GetValue(test),
            };
            var clock = Stopwatch.StartNew();
            var summary = SyntheticDataset.Write(parse.GetValue(output)!, options);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {options.Train} train, {options.Validation} validation, {options.Test} test items to {summary.Directory} in {clock.Elapsed.TotalSeconds:F1} s"));
            foreach (var (family, count) in summary.FamiliesBySplit["train"])
                o.WriteLine($"  {family,-28} {count,7}");
            return 0;
        });
        return command;
    }

    /// <summary>The tokenizer-training verb; also registered as <c>sdar tokenizer train</c>.</summary>
    internal static Command TrainTokenizer(string name = "train-tokenizer")
    {
        var corpus = new Option<string>("--corpus")
        {
            Description = "JSONL with a \"text\" field per line, or a dataset folder (its pretrain.jsonl).", Required = true, HelpName = "PATH",
        };
        var output = new Option<string>("--out", "-o") { Description = "Tokenizer folder to write.", Required = true, HelpName = "DIR" };
        var vocabSize = new Option<int>("--vocab-size")
        {
            Description = "Vocabulary size, the 256 byte tokens and the special tokens included.", DefaultValueFactory = _ => 1024, HelpName = "N",
        };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop merging when no pair occurs this often.", DefaultValueFactory = _ => 2, HelpName = "N" };
        vocabSize.Integer(256 + BpeTrainer.DefaultSpecialTokens.Count, CliParsing.MaxTokens);
        minFrequency.Integer(1);
        var command = new Command(name,
            "Train a byte-level BPE (Qwen2 pre-tokenizer; special tokens <|endoftext|> <|im_start|> <|im_end|> <think> </think> <|MASK|> after the BPE ids) and write tokenizer.json, tokenizer_config.json (Qwen3 chat template), vocab.json, merges.txt.")
        {
            corpus, output, vocabSize, minFrequency,
        };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            string path = parse.GetValue(corpus)!;
            if (Directory.Exists(path))
                path = Path.Combine(path, SyntheticDataset.PretrainFile);
            if (!File.Exists(path))
                throw new FileNotFoundException($"--corpus: {path}: file not found");
            int requested = parse.GetValue(vocabSize);
            var clock = Stopwatch.StartNew();
            var bpe = BpeTrainer.Train(Jsonl.ReadTexts(path), requested, BpeTrainer.DefaultSpecialTokens, parse.GetValue(minFrequency));
            bpe.Save(parse.GetValue(output)!, ChatTemplates.Qwen3ThinkingOffByDefault);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"trained {bpe.VocabSize} tokens ({bpe.Tokens.Count} BPE from {bpe.Merges.Count} merges, {bpe.SpecialTokens.Count} special) in {clock.Elapsed.TotalSeconds:F1} s"));
            if (bpe.VocabSize < requested)
                o.WriteLine($"  fewer than {requested}: no pair in the corpus occurs {parse.GetValue(minFrequency)} times any more");
            o.WriteLine($"  special ids: {string.Join(" ", bpe.SpecialTokens.Select(t => $"{t}={bpe.IdOf(t)}"))}");
            return 0;
        });
        return command;
    }
}
