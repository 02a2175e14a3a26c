using System.CommandLine;
using System.Diagnostics;
using Sdar.Data;
using Sdar.Tokenization;

namespace Sdar.Cli;

/// <summary>
/// <c>sdar data generate</c> writes the synthetic task suite as a dataset folder;
/// <c>sdar data train-tokenizer</c> trains a byte-level BPE on a corpus and writes a HuggingFace tokenizer folder.
/// Both are one call into the library.
/// </summary>
internal static class DataCommands
{
    public static Command Create() => new("data", "Synthetic training data and tokenizers") { Generate(), TrainTokenizer() };

    private static Command Generate()
    {
        var output = new Option<string>("--out") { Description = "Dataset folder to write", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1234 };
        var train = new Option<int>("--train") { Description = "Training items", DefaultValueFactory = _ => 20_000 };
        var validation = new Option<int>("--validation") { Description = "Validation items", DefaultValueFactory = _ => 500 };
        var test = new Option<int>("--test") { Description = "Test items", DefaultValueFactory = _ => 500 };
        var command = new Command("generate",
            "Write train/validation/test.jsonl (GSM8K format), sft.jsonl (chats) and pretrain.jsonl from the synthetic task suite")
        {
            output, seed, train, validation, test,
        };
        command.SetAction(r => Run(() =>
        {
            var options = new DatasetOptions
            {
                Seed = r.GetValue(seed), Train = r.GetValue(train), Validation = r.GetValue(validation), Test = r.GetValue(test),
            };
            var clock = Stopwatch.StartNew();
            var summary = SyntheticDataset.Write(r.GetValue(output)!, options);
            Console.WriteLine($"wrote {options.Train} train, {options.Validation} validation, {options.Test} test items to {summary.Directory} in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var (family, count) in summary.FamiliesBySplit["train"])
                Console.WriteLine($"  {family,-28} {count,7}");
        }));
        return command;
    }

    private static Command TrainTokenizer()
    {
        var corpus = new Option<string>("--corpus")
        {
            Description = "JSONL file with a \"text\" field per line, or a dataset folder (its pretrain.jsonl)",
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "Tokenizer folder to write", Required = true };
        var vocabSize = new Option<int>("--vocab-size")
        {
            Description = "Vocabulary size, byte tokens and special tokens included", DefaultValueFactory = _ => 1024,
        };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop when no pair occurs this often", DefaultValueFactory = _ => 2 };
        var command = new Command("train-tokenizer",
            "Train a byte-level BPE (Qwen2 pre-tokenizer, SDAR special tokens) and write tokenizer.json and tokenizer_config.json")
        {
            corpus, output, vocabSize, minFrequency,
        };
        command.SetAction(r => Run(() =>
        {
            string path = r.GetValue(corpus)!;
            if (Directory.Exists(path))
                path = Path.Combine(path, SyntheticDataset.PretrainFile);
            var clock = Stopwatch.StartNew();
            var bpe = BpeTrainer.Train(Jsonl.ReadTexts(path), r.GetValue(vocabSize), BpeTrainer.DefaultSpecialTokens, r.GetValue(minFrequency));
            bpe.Save(r.GetValue(output)!, ChatTemplates.Qwen3);
            Console.WriteLine($"trained {bpe.VocabSize} tokens ({bpe.Tokens.Count} BPE with {bpe.Merges.Count} merges, {bpe.SpecialTokens.Count} special) in {clock.Elapsed.TotalSeconds:F1} s");
            if (bpe.VocabSize < r.GetValue(vocabSize))
                Console.WriteLine($"  the corpus ran out of pairs occurring {r.GetValue(minFrequency)} times before {r.GetValue(vocabSize)}");
            Console.WriteLine($"  mask token <|MASK|> = {bpe.IdOf("<|MASK|>")}, eos <|im_end|> = {bpe.IdOf("<|im_end|>")}, pad <|endoftext|> = {bpe.IdOf("<|endoftext|>")}");
        }));
        return command;
    }

    /// <summary>Runs an action; errors a user can act on are printed as one line and exit with 1.</summary>
    private static int Run(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"sdar: {e.Message}");
            return 1;
        }
    }
}
