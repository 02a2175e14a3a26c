using System.CommandLine;
using System.Diagnostics;
using Sdar.Cli;
using Sdar.IO;
using Sdar.Training;

namespace Sdar.Tests.Cli;

/// <summary>
/// The training verbs as a user meets them when things go wrong: messages name real flags, unusable outputs fail
/// before any work, a second run on the same output is refused, and Ctrl-C saves a checkpoint.
/// </summary>
public sealed class TrainingSafetyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sdar-safety-" + Guid.NewGuid().ToString("N"));

    public TrainingSafetyTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(P("text.jsonl"), Enumerable.Range(0, 60).Select(i => $"{{\"text\": \"the cat sat on mat number {i} and then it sat again\"}}"));
        File.WriteAllLines(P("chat.jsonl"), Enumerable.Range(0, 20).Select(i =>
            $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"add {i} and {i}\"}}, {{\"role\": \"assistant\", \"content\": \"{2 * i}\"}}]}}"));
        File.WriteAllText(P("plain-file"), "not a folder");
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly string[] Toy = ["--seq-length", "32", "--batch-rows", "2", "--precision", "Fp32", "--hidden-size", "32", "--layers", "1",
        "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--intermediate-size", "64"];

    private static readonly string[] Small = ["--seq-length", "32", "--batch-rows", "2", "--precision", "Fp32"];

    [Fact]
    public void Every_flag_the_training_library_names_exists_on_the_verbs_that_can_raise_it()
    {
        var root = SdarCli.Build();
        foreach (var flag in TrainingFlag.All)
            foreach (string verb in flag.Verbs)
            {
                var command = root.Subcommands.Single(c => c.Name == verb);
                Assert.True(command.Options.Any(o => o.Name == "--" + flag.Name || o.Aliases.Contains("--" + flag.Name)),
                    $"sdar {verb} has no {flag}, but the library names it in its errors");
            }
        Assert.Contains(TrainingFlag.All, f => f.Name == "clip");
        Assert.DoesNotContain(TrainingFlag.All, f => f.Name is "grad-clip" or "dtype" or "warmup-steps");
    }

    [Theory]
    [InlineData(2e-1, "--clip", -1.0)]
    public void A_bad_clip_value_names_the_clip_flag(double lr, string flag, double value)
    {
        var error = Assert.Throws<OptionException>(() => new TrainerOptions { Steps = 1, RunDirectory = P("r"), LearningRate = lr, GradientClip = value }.Validate());
        Assert.StartsWith(flag + " ", error.Message);
        Assert.Contains("--warmup ", Assert.Throws<OptionException>(() =>
            new TrainerOptions { Steps = 1, RunDirectory = P("r"), WarmupSteps = 5 }.Validate()).Message);
    }

    public static TheoryData<string[]> UnwritableOutputs() => new()
    {
        new[] { "train", "--tokenizer", CliRunner.TinyQwen3, "--data", "{dir}/text.jsonl", "--out", "{dir}/plain-file/model", "--steps", "1" },
        new[] { "convert", "--model", CliRunner.TinyQwen3, "--data", "{dir}/text.jsonl", "--out", "{dir}/plain-file/model", "--steps", "1" },
        new[] { "sft", "--model", CliRunner.TinyQwen3, "--data", "{dir}/chat.jsonl", "--out", "{dir}/plain-file/model", "--steps", "1" },
        new[] { "train", "--tokenizer", CliRunner.TinyQwen3, "--data", "{dir}/text.jsonl", "--out", "{dir}/m", "--run-dir", "{dir}/plain-file/run", "--steps", "1" },
        new[] { "data", "generate", "--out", "{dir}/plain-file/data" },
        // The model does not exist: the predictions path is checked before the model is even opened.
        new[] { "eval", "--model", "{dir}/no-such-model", "--data", "{dir}/text.jsonl", "--predictions", "{dir}/plain-file/p.jsonl" },
    };

    [Theory]
    [MemberData(nameof(UnwritableOutputs))]
    public void An_unusable_output_path_is_reported_before_any_work(string[] template)
    {
        string[] args = [.. template.Select(a => a.Replace("{dir}", _dir)), .. template[0] is "train" ? Toy : template[0] is "convert" or "sft" ? Small : []];
        var clock = Stopwatch.StartNew();
        var (code, _, error) = CliRunner.Run(args);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains($"{P("plain-file")} is a file", error);
        Assert.Matches("--(out|run-dir|predictions) ", error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.False(Directory.Exists(P("m.run")), "no run folder was started");
    }

    [Fact]
    public void A_second_run_on_the_same_out_fails_at_once_naming_the_folder_and_the_holder()
    {
        using (OutputLock.Acquire(P("m.run"), "--run-dir"))
        {
            var (code, _, error) = CliRunner.Run(["train", "--tokenizer", CliRunner.TinyQwen3, "--data", P("text.jsonl"), "--out", P("m"), "--steps", "1", .. Toy]);
            Assert.Equal(SdarCli.ExitBadInput, code);
            Assert.Contains($"--run-dir {P("m.run")}: process {Environment.ProcessId} is writing it", error);
        }
        Assert.False(File.Exists(P("m.run/log.jsonl")), "the refused run wrote no log records");
        var ok = CliRunner.Run(["train", "--tokenizer", CliRunner.TinyQwen3, "--data", P("text.jsonl"), "--out", P("m"), "--steps", "1", .. Toy]);
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_dir), p => Path.GetFileName(p).EndsWith(".lock", StringComparison.Ordinal));
    }

    [Fact]
    public void An_infinite_learning_rate_is_a_one_line_error_naming_the_step()
    {
        var (code, _, error) = CliRunner.Run(["train", "--tokenizer", CliRunner.TinyQwen3, "--data", P("text.jsonl"), "--out", P("m"), "--steps", "8",
            "--lr", "1e30", .. Toy]);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Matches(@"sdar: error: step \d+: the (loss|gradient norm) is", error);
        Assert.DoesNotContain("JSON", error);
        Assert.False(Directory.Exists(P("m")), "no model folder is written for a diverged run");
    }

    /// <summary>The real thing: SIGINT (Ctrl-C) or SIGTERM to a training process, then the same command again.</summary>
    [Theory]
    [InlineData("INT", StopSignals.InterruptExitCode, "Ctrl-C")]
    [InlineData("TERM", StopSignals.TerminateExitCode, "SIGTERM")]
    public void Ctrl_c_or_sigterm_during_training_saves_a_checkpoint_exits_with_the_signal_code_and_the_same_command_resumes(
        string signal, int exitCode, string notice)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Sdar.Cli.dll");
        Assert.True(File.Exists(cli), cli);
        string[] args = [cli, "train", "--tokenizer", CliRunner.TinyQwen3, "--data", P("text.jsonl"), "--out", P("m"), "--steps", "100000", .. Toy];
        // A test run started in the background (nohup cmd &) hands its children SIGINT ignored, and .NET keeps an
        // ignored SIGINT ignored; env --default-signal gives the training process the disposition a terminal would.
        bool resetSignals = File.Exists("/usr/bin/env");
        var start = new ProcessStartInfo(resetSignals ? "/usr/bin/env" : "dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (resetSignals) foreach (var a in new[] { "--default-signal=INT,TERM", "dotnet" }) start.ArgumentList.Add(a);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        string log = P("m.run/log.jsonl");
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(log) && File.ReadAllLines(log).Length >= 2))
        {
            if (process.HasExited) Assert.Fail("training ended early: " + stderr.Result);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), "no steps logged in 90 s");
            Thread.Sleep(100);
        }
        using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(process.WaitForExit(60_000), $"the process did not stop within 60 s of SIG{signal}");

        string error = stderr.Result;
        Assert.True(exitCode == process.ExitCode, $"exit {process.ExitCode}: {error}");
        Assert.Contains($"sdar: {notice}: stopping after the current step", error);
        var saved = System.Text.RegularExpressions.Regex.Match(error, @"stopped after step (\d+) of 100000; checkpoint saved to (\S+);");
        Assert.True(saved.Success, error);
        Assert.True(Directory.Exists(saved.Groups[2].Value));
        Assert.False(Directory.Exists(P("m")), "a stopped run writes no final model");
        Assert.DoesNotContain('\r', error);   // stderr is a pipe here: whole progress lines only
        _ = stdout.Result;

        int stoppedAt = int.Parse(saved.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var (code, output, resumeError) = CliRunner.Run(["train", "--tokenizer", CliRunner.TinyQwen3, "--data", P("text.jsonl"), "--out", P("m"),
            "--steps", (stoppedAt + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), .. Toy]);
        Assert.True(code == 0, resumeError);
        Assert.Contains($"{stoppedAt + 1} steps", output);
        Assert.True(Directory.Exists(P("m")));
    }
}
