using Sdar.Evaluation;
using Sdar.Evaluation.Execution;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Evaluation;

/// <summary>
/// Generated code is contained and cannot fake a pass. These run real Python in the real sandbox (bubblewrap, which
/// .ci/run installs); each hostile program must end as failed, and the machine must be as it was. On a machine
/// without bubblewrap they check instead that the sandbox refuses to start with the message that says what to install.
/// </summary>
public sealed class PythonSandboxTests
{
    private static readonly Lazy<PythonSandbox?> Available = new(() =>
    {
        var limits = new SandboxLimits { WallTime = TimeSpan.FromSeconds(5), CpuSeconds = 2, MemoryBytes = 256L << 20 };
        try
        {
            return new PythonSandbox(limits);
        }
        catch (SandboxUnavailableException e)
        {
            Assert.Contains("install", e.Message, StringComparison.Ordinal);
            return null;
        }
    });

    private static PythonSandbox Sandbox => Available.Value!;

    /// <summary>False (and the refusal checked) where bubblewrap is missing.</summary>
    private static bool CanRun => Available.Value is not null;

    private static SandboxResult Run(string program) => Sandbox.RunAsync(program).GetAwaiter().GetResult();

    [Fact]
    public void A_program_that_runs_to_its_end_passes_and_its_output_is_kept()
    {
        if (!CanRun) return;
        var result = Run("print('hello')\nassert 1 + 1 == 2\n");
        Assert.Equal(SandboxOutcome.Passed, result.Outcome);
        Assert.Equal("hello", result.Stdout);
        Assert.Equal("", result.Reason);
    }

    [Theory]
    [InlineData("assert 1 + 1 == 3", SandboxOutcome.Failed, "AssertionError")]
    [InlineData("def f(:\n  pass", SandboxOutcome.Failed, "SyntaxError")]
    [InlineData("import sys\nsys.exit(0)\nassert False", SandboxOutcome.ExitedEarly, "exited early")]
    [InlineData("raise SystemExit", SandboxOutcome.ExitedEarly, "exited early")]
    [InlineData("import os\nos._exit(0)\nassert False", SandboxOutcome.Crashed, "os._exit")]
    [InlineData("print('passed')\nimport os\nos._exit(0)", SandboxOutcome.Crashed, "os._exit")]
    [InlineData("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nassert False, 'the checks still run'", SandboxOutcome.Failed, "the checks still run")]
    [InlineData("import os, signal\nos.kill(-1, signal.SIGKILL)", SandboxOutcome.Failed, "ProcessLookupError")]   // nothing outside to kill
    [InlineData("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", SandboxOutcome.Crashed, "signal 9")]
    [InlineData("while True:\n  pass", SandboxOutcome.Crashed, "SIGXCPU")]
    [InlineData("import time\ntime.sleep(60)", SandboxOutcome.TimedOut, "wall-time")]
    [InlineData("x = bytearray(1 << 30)", SandboxOutcome.Failed, "MemoryError")]
    [InlineData("chunks = []\nwhile True:\n  chunks.append(bytearray(1 << 20))", SandboxOutcome.Failed, "MemoryError")]
    public void Hostile_or_broken_programs_fail_with_the_reason(string program, SandboxOutcome outcome, string reason)
    {
        if (!CanRun) return;
        var result = Run(program);
        Assert.Equal(outcome, result.Outcome);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
        Assert.False(result.Passed);
    }

    [Fact]
    public void A_fork_bomb_is_held_to_the_process_limit_and_nothing_outlives_the_run()
    {
        if (!CanRun) return;
        var result = Run("""
            import os
            n = 0
            try:
                while True:
                    if os.fork() == 0:
                        import time
                        time.sleep(30)
                        os._exit(0)
                    n += 1
            except OSError:
                print(n)
            """);
        Assert.Equal(SandboxOutcome.Passed, result.Outcome);
        Assert.InRange(int.Parse(result.Stdout, System.Globalization.CultureInfo.InvariantCulture), 0, 16);
        // The sleeping children died with the sandbox: no python of the sandbox's user is left.
        Thread.Sleep(200);
        Assert.DoesNotContain(System.Diagnostics.Process.GetProcessesByName("python3"), p => SleepsInSandbox(p));
    }

    private static bool SleepsInSandbox(System.Diagnostics.Process process)
    {
        try
        {
            return File.ReadAllText($"/proc/{process.Id}/cmdline").Contains("_sdar_run", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    [Fact]
    public void Writes_outside_the_private_tmp_are_refused_and_the_machine_is_unchanged()
    {
        if (!CanRun) return;
        string outside = Path.Combine(AppContext.BaseDirectory, $"sandbox-escape-{Guid.NewGuid():N}");
        string hostTmp = Path.Combine(Path.GetTempPath(), $"sandbox-escape-{Guid.NewGuid():N}");
        var result = Run($$"""
            import os
            open("local.txt", "w").write("mine")           # its own folder
            open("/tmp/{{Path.GetFileName(hostTmp)}}", "w").write("x")    # the private /tmp, not the machine's
            blocked = 0
            for path in ["{{outside}}", "/usr/evil", "/etc/evil"]:
                try:
                    open(path, "w").write("x")
                except OSError:
                    blocked += 1
            assert blocked == 3, blocked
            import socket
            try:
                socket.create_connection(("1.1.1.1", 80), timeout=1)
                assert False, "network reachable"
            except OSError:
                pass
            """);
        Assert.True(result.Passed, result.Reason + result.Stderr);
        Assert.False(File.Exists(outside));
        Assert.False(File.Exists(hostTmp));
    }

    [Fact]
    public void Huge_output_is_cut_not_blocking()
    {
        if (!CanRun) return;
        var result = Run("import sys\nfor i in range(200000):\n  sys.stdout.write('x' * 100)\n");
        Assert.Equal(SandboxOutcome.Passed, result.Outcome);
        Assert.True(result.Stdout.Length <= Sandbox.Limits.MaxOutputChars);
    }

    [Fact]
    public void Canonical_HumanEval_solutions_pass_and_broken_ones_fail()
    {
        if (!CanRun) return;
        var benchmark = new CodeExecutionBenchmark(new HumanEvalBenchmark(), Sandbox);
        foreach (HumanEvalItem item in benchmark.Read(CliRunner.Fixture("benchmarks", "humaneval-6.jsonl")))
        {
            var good = benchmark.Score(item, item.CanonicalSolution);
            Assert.True(good.Correct, $"{item.Id}: {good.Code}");
            Assert.Equal("passed", good.Code!.Outcome);
            var wrong = benchmark.Score(item, "    return None\n");
            Assert.Equal("failed", wrong.Code!.Outcome);
            var cheat = benchmark.Score(item, "    return None\nimport sys\nsys.exit(0)\n");
            Assert.False(cheat.Correct);
            Assert.Equal("exited_early", cheat.Code!.Outcome);
        }
    }

    [Fact]
    public void Reference_MBPP_code_passes_its_asserts_and_broken_code_fails()
    {
        if (!CanRun) return;
        var benchmark = new CodeExecutionBenchmark(new MbppBenchmark(), Sandbox);
        foreach (MbppItem item in benchmark.Read(CliRunner.Fixture("benchmarks", "mbpp-test-10.jsonl")))
        {
            var good = benchmark.Score(item, item.Code);
            Assert.True(good.Correct, $"{item.Id}: {good.Code}");
            if (item.Id == 477)   // is_lower: a wrong answer fails its asserts
                Assert.Equal("failed", benchmark.Score(item, "def is_lower(string):\n  return string.upper()").Code!.Outcome);
            Assert.False(benchmark.Score(item, item.Code + "\nraise ValueError('broken')").Correct);
        }
    }
}
