using System.Text.Json;
using Sdar.Runtime;
using Sdar.Server;
using Sdar.Tests.Evaluation;

namespace Sdar.Tests.Cli;

/// <summary><c>sdar eval</c> with a model: every benchmark, resumable predictions, samples, shots, remote endpoints, AR comparison.</summary>
public sealed class EvalRunCommandTests
{
    private static string Data(string name) => BenchmarkFiles.Fixture(name);

    private static JsonElement[] Lines(string path) => [.. File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement)];

    private static string Synthetic(TempFile dir) =>
        Write(dir, "synthetic.jsonl",
            """{"question": "What is 2 + 3?", "answer": "2 + 3 = 5.\n#### 5"}""",
            """{"question": "What is 4 * 4?", "answer": "#### 16"}""",
            """{"question": "Sort 3, 1, 2.", "answer": "#### 123"}""",
            """{"question": "What is 9 - 7?", "answer": "#### 2"}""",
            """{"question": "How many letters are in cat?", "answer": "#### 3"}""");

    private static string Write(TempFile dir, string name, params string[] lines)
    {
        string path = Path.Combine(Path.GetDirectoryName(dir.Path)!, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Theory]
    [InlineData("math", "math500-10.jsonl")]
    [InlineData("gsm8k", "gsm8k-test-12.jsonl")]
    [InlineData("mmlu", "abstract_algebra_test.csv")]
    [InlineData("ifeval", "ifeval-12.jsonl")]
    public void A_model_is_evaluated_on_every_benchmark_with_verdicts_and_cost(string benchmark, string data)
    {
        using var dir = BenchmarkFiles.Write("marker");
        string file = data.EndsWith(".csv", StringComparison.Ordinal)
            ? Write(dir, data, "\"What is 2 + 2?\",3,4,5,6,B", "\"Capital of France?\",Paris,Rome,Oslo,Bern,A", "\"1 + 1?\",2,3,4,5,A")
            : Data(data);
        string predictions = Path.Combine(Path.GetDirectoryName(dir.Path)!, "p.jsonl");
        var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", benchmark, "--data", file, "--limit", "3",
            "-n", "8", "--concurrency", "2", "--predictions", predictions, "--json");
        Assert.True(code == 0, error);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(benchmark, summary.GetProperty("benchmark").GetString());
        Assert.Equal(3, summary.GetProperty("count").GetInt32());
        Assert.True(summary.GetProperty("nfe_denoise").GetInt64() > 0);
        Assert.True(summary.GetProperty("tokens_per_forward").GetDouble() > 0);
        Assert.Equal(2, summary.GetProperty("concurrency").GetInt32());
        if (benchmark == "ifeval") Assert.True(summary.TryGetProperty("prompt_strict", out _));
        var lines = Lines(predictions);
        Assert.Equal([0, 1, 2], lines.Select(l => l.GetProperty("index").GetInt32()));
        Assert.All(lines, l => Assert.True(l.GetProperty("generated_tokens").GetInt32() > 0));
        Assert.All(lines, l => Assert.True(l.GetProperty("nfe_total").GetInt32() >= l.GetProperty("nfe_denoise").GetInt32()));
    }

    [Fact]
    public void An_interrupted_run_continues_where_it_stopped_and_ends_as_an_uninterrupted_one()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        string whole = Path.Combine(Path.GetDirectoryName(dir.Path)!, "whole.jsonl"), cut = Path.Combine(Path.GetDirectoryName(dir.Path)!, "cut.jsonl");
        string[] args = ["eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "8", "--json"];
        var first = CliRunner.Run([.. args, "--predictions", whole]);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.True(CliRunner.Run([.. args, "--predictions", cut]).ExitCode == 0);
        // As a kill would leave it: two whole lines and half of the third.
        var kept = File.ReadAllLines(cut);
        File.WriteAllText(cut, kept[0] + "\n" + kept[1] + "\n" + kept[2][..(kept[2].Length / 2)]);
        var resumed = CliRunner.Run([.. args, "--predictions", cut]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("2 of 5 completions are done (an incomplete last line was dropped)", resumed.Error);
        var summary = JsonDocument.Parse(resumed.Output).RootElement;
        Assert.Equal(2, summary.GetProperty("resumed").GetInt32());
        Assert.Equal(File.ReadAllText(whole), File.ReadAllText(cut));
        var original = JsonDocument.Parse(first.Output).RootElement;
        foreach (string field in (string[])["accuracy", "nfe_denoise", "nfe_total", "generated_tokens", "tokens_per_forward"])
            Assert.Equal(original.GetProperty(field).GetRawText(), summary.GetProperty(field).GetRawText());

        // Other settings do not mix into the file; --restart starts over.
        var other = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "9", "--predictions", cut);
        Assert.NotEqual(0, other.ExitCode);
        Assert.Contains("written by a run with other settings (options:", other.Error);
        var restarted = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "9", "--predictions", cut, "--restart", "--json");
        Assert.True(restarted.ExitCode == 0, restarted.Error);
        Assert.Equal(0, JsonDocument.Parse(restarted.Output).RootElement.GetProperty("resumed").GetInt32());
    }

    [Fact]
    public void A_predictions_file_from_elsewhere_is_not_overwritten()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        string predictions = Write(dir, "mine.jsonl", """{"my": "work"}""");
        var (code, _, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "4", "--predictions", predictions);
        Assert.NotEqual(0, code);
        Assert.Contains("was not written by a resumable run", error);
        Assert.Equal("{\"my\": \"work\"}\n", File.ReadAllText(predictions));
    }

    [Fact]
    public void Samples_give_majority_vote_and_pass_at_k_and_need_a_temperature()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        string predictions = Path.Combine(Path.GetDirectoryName(dir.Path)!, "s.jsonl");
        var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "6",
            "--samples", "3", "--temperature", "0.9", "--seed", "7", "--pass-at", "1,3", "--predictions", predictions, "--json");
        Assert.True(code == 0, error);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(15, summary.GetProperty("samples").GetInt32());
        Assert.True(summary.TryGetProperty("majority_accuracy", out _));
        var passAt = summary.GetProperty("pass_at_k");
        Assert.True(passAt.GetProperty("3").GetDouble() >= passAt.GetProperty("1").GetDouble());
        var lines = Lines(predictions);
        Assert.Equal(15, lines.Length);
        // Every sample draws with its own seed, so the three answers of an item are not all one answer repeated.
        Assert.True(lines.GroupBy(l => l.GetProperty("index").GetInt32()).Any(g => g.Select(l => l.GetProperty("prediction").GetString()).Distinct().Count() > 1));

        var greedy = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "--samples", "3");
        Assert.NotEqual(0, greedy.ExitCode);
        Assert.Contains("--samples 3: needs --temperature above 0", greedy.Error);
    }

    [Fact]
    public void Shots_come_from_the_shots_data_file()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "gsm8k", "--data", data, "--limit", "2", "-n", "4",
            "--shots", "2", "--shots-data", data, "--json");
        Assert.True(code == 0, error);
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("count").GetInt32());

        var missing = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", data, "--shots", "2");
        Assert.Contains("--shots 2: needs --shots-data FILE", missing.Error);
        var tooFew = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", data, "--shots", "9", "--shots-data", data);
        Assert.Contains("--shots 9: --shots-data", tooFew.Error);
        var refused = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "ifeval", "--data", Data("ifeval-12.jsonl"), "--shots", "1", "--shots-data", Data("ifeval-12.jsonl"));
        Assert.Contains("IFEval prompts take no worked examples", refused.Error);
    }

    [Fact]
    public async Task An_endpoint_gives_the_answers_the_local_model_gives()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        await using var server = await SdarServer.StartAsync(model, options: new SdarServerOptions { Host = "127.0.0.1", Port = 0, ApiKey = "k3y", LeaveModelOpen = true });
        foreach (string[] mode in (string[][])[[], ["--no-chat"]])
        {
            string local = Path.Combine(Path.GetDirectoryName(dir.Path)!, $"local{mode.Length}.jsonl"), remote = Path.Combine(Path.GetDirectoryName(dir.Path)!, $"remote{mode.Length}.jsonl");
            var a = CliRunner.Run(["eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "8", "--predictions", local, "--json", .. mode]);
            Assert.True(a.ExitCode == 0, a.Error);
            var b = CliRunner.Run(["eval", "--endpoint", server.Url, "--api-key", "k3y", "--concurrency", "3", "--benchmark", "synthetic", "--data", data, "-n", "8",
                "--predictions", remote, "--json", .. mode]);
            Assert.True(b.ExitCode == 0, b.Error);
            Assert.Equal(Lines(local).Select(l => l.GetProperty("prediction").GetString()), Lines(remote).Select(l => l.GetProperty("prediction").GetString()));
            var summary = JsonDocument.Parse(b.Output).RootElement;
            Assert.Equal("remote", summary.GetProperty("decoding").GetString());
            Assert.Equal(JsonValueKind.Null, summary.GetProperty("tokens_per_forward").ValueKind);
            Assert.Equal(JsonDocument.Parse(a.Output).RootElement.GetProperty("generated_tokens").GetInt64(), summary.GetProperty("generated_tokens").GetInt64());
        }
        var unauthorised = CliRunner.Run("eval", "--endpoint", server.Url, "--api-key", "wrong", "--benchmark", "synthetic", "--data", data, "-n", "4");
        Assert.NotEqual(0, unauthorised.ExitCode);
        Assert.Contains("HTTP 401", unauthorised.Error);
        var nowhere = CliRunner.Run("eval", "--endpoint", "http://127.0.0.1:9/v1", "--benchmark", "synthetic", "--data", data);
        Assert.NotEqual(0, nowhere.ExitCode);
        Assert.Contains("--endpoint http://127.0.0.1:9/v1/models", nowhere.Error);
        var notUrl = CliRunner.Run("eval", "--endpoint", "localhost:8000", "--benchmark", "synthetic", "--data", data);
        Assert.Contains("expected an http:// or https:// address", notUrl.Error);
    }

    [Fact]
    public void Compare_ar_decodes_the_same_items_with_the_ar_model_and_reports_the_speedup()
    {
        using var dir = BenchmarkFiles.Write("marker");
        string data = Synthetic(dir);
        var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "-n", "8",
            "--compare-ar", CliRunner.TinyQwen3, "--json");
        Assert.True(code == 0, error);
        var summary = JsonDocument.Parse(output).RootElement;
        var ar = summary.GetProperty("compare_ar");
        Assert.Equal(ar.GetProperty("nfe_denoise").GetInt64(), ar.GetProperty("generated_tokens").GetInt64());   // one token per forward
        Assert.True(summary.GetProperty("speedup").GetDouble() > 0);

        var notAr = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", data, "--compare-ar", CliRunner.TinySdar);
        Assert.NotEqual(0, notAr.ExitCode);
        Assert.Contains("--compare-ar", notAr.Error);
        Assert.Contains("expected an autoregressive model", notAr.Error);
    }

    [Fact]
    public void Code_written_by_a_model_runs_in_the_sandbox()
    {
        if (!File.Exists("/usr/bin/bwrap") && !File.Exists("/bin/bwrap")) return;   // the sandbox tests check the refusal there
        using var dir = BenchmarkFiles.Write("marker");
        string predictions = Path.Combine(Path.GetDirectoryName(dir.Path)!, "code.jsonl");
        var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--benchmark", "mbpp", "--data", Data("mbpp-test-10.jsonl"), "--limit", "2",
            "-n", "8", "--predictions", predictions, "--json");
        Assert.True(code == 0, error);
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("count").GetInt32());
        Assert.All(Lines(predictions), l => Assert.False(string.IsNullOrEmpty(l.GetProperty("outcome").GetString())));
    }
}

/// <summary><c>sdar eval --sweep</c>: the grid, its CSV / Markdown / PNG outputs, and resuming.</summary>
public sealed class EvalSweepCommandTests
{
    [Fact]
    public void A_sweep_writes_its_table_and_plots_and_continues_from_its_predictions()
    {
        using var dir = BenchmarkFiles.Write("synthetic.jsonl",
            """{"question": "What is 2 + 3?", "answer": "#### 5"}""",
            """{"question": "Sort 3, 1, 2.", "answer": "#### 123"}""");
        string outDir = Path.Combine(Path.GetDirectoryName(dir.Path)!, "sweep");
        string[] args = ["eval", "--model", CliRunner.TinySdar, "--benchmark", "synthetic", "--data", dir.Path, "-n", "8", "--sweep", outDir,
            "--sweep-block-lengths", "4,8", "--sweep-thresholds", "0.5,0.9", "--compare-ar", CliRunner.TinyQwen3, "--concurrency", "2"];
        var (code, output, error) = CliRunner.Run(args);
        Assert.True(code == 0, error);
        // AR, then per block length: static, dynamic 0.5, dynamic 0.9.
        var csv = File.ReadAllLines(Path.Combine(outDir, "sweep.csv"));
        Assert.Equal("model,block_length,strategy,threshold,accuracy,tokens_per_forward,nfe_denoise,generated_tokens,tokens_per_second,seconds,concurrency,speedup", csv[0]);
        Assert.Equal(1 + 1 + 2 * 3, csv.Length);
        Assert.StartsWith("tiny-qwen3,1,autoregressive,", csv[1], StringComparison.Ordinal);
        Assert.Contains(csv, l => l.StartsWith("tiny-sdar,8,low_confidence_dynamic,0.5,", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "sweep.md")), output);
        foreach (string png in (string[])["accuracy-vs-tpf.png", "speedup.png"])
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(outDir, png)).Take(4));
        Assert.Equal(7, Directory.GetFiles(Path.Combine(outDir, "predictions"), "*.jsonl").Length);

        // Run again: every setting is read back from its predictions, none generated again, and the numbers agree.
        var again = CliRunner.Run(args);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Equal(7, again.Error.Split("2 of 2 completions are done").Length - 1);
        var rerun = File.ReadAllLines(Path.Combine(outDir, "sweep.csv"));
        static string Scores(string line) => string.Join(",", line.Split(',').Take(8));
        Assert.Equal(csv.Select(Scores), rerun.Select(Scores));
    }

    [Fact]
    public void Sweep_flags_without_a_sweep_and_unknown_strategies_are_refused()
    {
        var (code, _, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", BenchmarkFiles.Fixture("gsm8k-test-12.jsonl"), "--sweep-thresholds", "0.9");
        Assert.NotEqual(0, code);
        Assert.Contains("go with --sweep DIR", error);
        var bad = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", BenchmarkFiles.Fixture("gsm8k-test-12.jsonl"), "--sweep", "/tmp/x", "--sweep-strategies", "fastest");
        Assert.Contains("--sweep-strategies: \"fastest\" is not a strategy", bad.Error);
    }
}

/// <summary><c>sdar results</c>: the results page and its plots from one command.</summary>
public sealed class ResultsCommandTests
{
    [Fact]
    public void The_results_page_is_written_with_its_tables_and_plots()
    {
        using var dir = BenchmarkFiles.Write("test.jsonl",
            """{"question": "What is 2 + 3?", "answer": "#### 5"}""",
            """{"question": "Sort 3, 1, 2.", "answer": "#### 123"}""");
        string root = Path.GetDirectoryName(dir.Path)!, docs = Path.Combine(root, "docs");
        var (code, output, error) = CliRunner.Run("results", "--data", dir.Path, "--models", CliRunner.TinySdar, "--ar", CliRunner.TinyQwen3,
            "--out", docs, "--work", Path.Combine(root, "work"), "--concurrency", "2", "--single-limit", "1", "--samples", "2");
        Assert.True(code == 0, error);
        Assert.Contains("RESULTS.md", output);
        string page = File.ReadAllText(Path.Combine(docs, "RESULTS.md"));
        Assert.Contains("| tiny-qwen3 | autoregressive |", page);
        Assert.Contains("| tiny-sdar | dynamic, threshold 0.9 |", page);
        Assert.Contains("| tiny-sdar | static (1 token per step) |", page);
        Assert.Contains("## Majority voting (2 sampled answers per item", page);
        Assert.Contains("**Measured on**", page);
        foreach (string png in (string[])["accuracy-vs-tpf.png", "speedup.png"])
            Assert.True(new FileInfo(Path.Combine(docs, "results", png)).Length > 1000);
    }

    private static string ModelWithHistory(string root, string name, params (string Recipe, string Objective, int? Block, int Steps)[] stages)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        foreach (string file in Directory.GetFiles(CliRunner.TinySdar)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var history = new Sdar.Training.Recipes.TrainingProvenance(1000, true,
            [.. stages.Select(s => new Sdar.Training.Recipes.TrainingStage(s.Recipe, s.Objective, s.Block, s.Steps, s.Steps * 4096L,
                s.Objective == "block-diffusion" ? s.Steps * 8192L : s.Steps * 4096L, 1))]);
        history.Write(dir);
        return dir;
    }

    [Fact]
    public void Claim_c_compares_the_converted_and_the_from_scratch_model_at_their_recorded_training_flops()
    {
        using var dir = BenchmarkFiles.Write("test.jsonl", """{"question": "What is 2 + 3?", "answer": "#### 5"}""");
        string root = Path.GetDirectoryName(dir.Path)!, docs = Path.Combine(root, "docs");
        string converted = ModelWithHistory(root, "converted", ("pretrain", "autoregressive", null, 200), ("convert", "block-diffusion", 4, 50));
        string scratch = ModelWithHistory(root, "scratch", ("convert", "block-diffusion", 4, 150));
        var (code, _, error) = CliRunner.Run("results", "--data", dir.Path, "--models", converted, "--ar", CliRunner.TinyQwen3, "--from-scratch", scratch,
            "--out", docs, "--work", Path.Combine(root, "work"), "--concurrency", "2", "--single-limit", "1", "--samples", "2");
        Assert.True(code == 0, error);
        string page = File.ReadAllText(Path.Combine(docs, "RESULTS.md"));
        Assert.Contains("## Claim (c): AR-then-convert against block diffusion from scratch, at equal training FLOPs", page);
        // 200 x 4,096 + 50 x 8,192 = 1,228,800 tokens through the model for both paths; 6 x 1,000 x that = 7.37e9 FLOPs.
        Assert.Contains("| AR then convert (converted) | pretrain AR (200); convert B=4 (50) | 1,228,800 | 7.37e9 |", page);
        Assert.Contains("| block diffusion from scratch | convert B=4 (150) | 1,228,800 | 7.37e9 |", page);
        Assert.Contains("With 1.00x the converted model's training FLOPs", page);
    }

    [Fact]
    public void Claim_c_refuses_a_model_without_a_training_history_before_decoding_anything()
    {
        using var dir = BenchmarkFiles.Write("test.jsonl", """{"question": "What is 2 + 3?", "answer": "#### 5"}""");
        string root = Path.GetDirectoryName(dir.Path)!, docs = Path.Combine(root, "docs");
        string converted = ModelWithHistory(root, "converted", ("pretrain", "autoregressive", null, 200));
        var (code, _, error) = CliRunner.Run("results", "--data", dir.Path, "--models", converted, "--ar", CliRunner.TinyQwen3, "--from-scratch", CliRunner.TinySdar,
            "--out", docs, "--work", Path.Combine(root, "work"));
        Assert.NotEqual(0, code);
        Assert.Contains("--from-scratch", error);
        Assert.Contains("training.json", error);
        Assert.False(File.Exists(Path.Combine(docs, "RESULTS.md")));
        Assert.False(Directory.Exists(Path.Combine(root, "work", "sweep")));
    }
}
