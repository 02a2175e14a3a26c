using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sdar.Evaluation.Execution;

/// <summary>The machine cannot run sandboxed code (no bubblewrap, no Python, no user namespaces).</summary>
public sealed class SandboxUnavailableException(string message) : SdarException(message);

/// <summary>
/// Runs untrusted Python (a model's HumanEval / MBPP completion and its tests) so that it can neither harm the
/// machine nor fake a pass.
/// <para>
/// Containment, with what Linux offers an ordinary process: bubblewrap puts the program in new user, mount, PID,
/// network, IPC and UTS namespaces with every capability dropped; the root file system is mounted read-only, with
/// empty private mounts over /tmp (its only writable place, size-limited), /var/tmp, /run and the home folders; no
/// network device but loopback. When Sdar runs as root, the sandbox runs as <c>nobody</c> (setpriv), so that
/// RLIMIT_NPROC binds (root is exempt from it). Inside, a harness sets RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC,
/// RLIMIT_FSIZE and RLIMIT_CORE before the program runs; from outside, the wall-time limit kills the whole
/// sandbox, which dies with its parent too (--die-with-parent), so no process outlives a run.
/// </para>
/// <para>
/// Faked passes: the program arrives on stdin after a random one-time marker, which the harness writes to stdout
/// only after the last statement returned. A program that exits early (sys.exit, os._exit), kills its parent or
/// prints "passed" ends without the marker and has not passed. (A program that deliberately reads the harness's
/// own frame could find the marker; the sandbox still contains it.)
/// </para>
/// </summary>
public sealed class PythonSandbox
{
    /// <summary>The harness (python -I -c): limits, then the program from stdin, then the marker.</summary>
    private const string Harness = """
        import os, resource, sys
        def _sdar_run():
            marker = sys.stdin.readline().strip()
            limits = [int(x) for x in sys.stdin.readline().split()]
            source = sys.stdin.read()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            cpu, memory, processes, file_size = limits
            # The CPU limit's soft value sends SIGXCPU (a hard limit equal to it would SIGKILL first, saying less).
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, processes),
                                 (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_CORE, 0)):
                resource.setrlimit(limit, (value, value))
            os.makedirs("/tmp/work", exist_ok=True)
            os.chdir("/tmp/work")
            sys.argv = ["program.py"]
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            try:
                exec(compile(source, "program.py", "exec"), namespace)
            except SystemExit as exit:
                sys.stderr.write("sdar-sandbox: exited early (SystemExit %r)\n" % (exit.code,))
                sys.stderr.flush()
                os._exit(3)
            except BaseException:
                import traceback
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(1)
            sys.stdout.flush()
            os.write(1, ("\n" + marker + "\n").encode())
            os._exit(0)
        _sdar_run()
        """;

    /// <summary>Folders hidden behind empty private mounts when they exist: other users' files and the machine's runtime state.</summary>
    private static readonly string[] Hidden = ["/home", "/root", "/var/tmp", "/run", "/mnt", "/media", "/srv"];

    private readonly string _bwrap, _python;
    private readonly bool _dropToNobody;

    public SandboxLimits Limits { get; }

    /// <param name="python">The interpreter; default <c>/usr/bin/python3</c>, else python3 on PATH. It must be readable by <c>nobody</c> when Sdar runs as root.</param>
    public PythonSandbox(SandboxLimits? limits = null, string? python = null)
    {
        Limits = limits ?? new SandboxLimits();
        Limits.Validate();
        _bwrap = FindOnPath("bwrap") ?? throw new SandboxUnavailableException(
            "running generated code needs bubblewrap (bwrap) for its sandbox; install it (Debian/Ubuntu: apt-get install bubblewrap)");
        _python = python ?? (File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : FindOnPath("python3"))
            ?? throw new SandboxUnavailableException("running generated code needs Python 3 (python3 on PATH, or --python PATH)");
        if (!File.Exists(_python)) throw new SandboxUnavailableException($"--python: '{_python}' does not exist");
        _dropToNobody = Environment.IsPrivilegedProcess;
        if (_dropToNobody && FindOnPath("setpriv") is null)
            throw new SandboxUnavailableException("running generated code as root needs setpriv (util-linux) to drop to the nobody user");
    }

    /// <summary>Runs <paramref name="program"/> to its end or to a limit.</summary>
    public async Task<SandboxResult> RunAsync(string program, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(program);
        string marker = "sdar-passed-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        using var process = new Process { StartInfo = StartInfo() };
        var clock = Stopwatch.StartNew();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SandboxUnavailableException($"could not start the sandbox ({_bwrap}): {e.Message}");
        }
        var stdout = DrainAsync(process.StandardOutput, Limits.MaxOutputChars);
        var stderr = DrainAsync(process.StandardError, Limits.MaxOutputChars);
        bool timedOut = false;
        try
        {
            var input = process.StandardInput;
            await input.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                $"{marker}\n{Limits.CpuSeconds} {Limits.MemoryBytes} {Limits.MaxProcesses} {Limits.MaxFileBytes}\n"));
            await input.WriteAsync(program);
            input.Close();
        }
        catch (IOException)
        {
            // The sandbox ended before it read its program (it failed to start); its stderr says why.
        }
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            deadline.CancelAfter(Limits.WallTime);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = !cancellation.IsCancellationRequested;
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                cancellation.ThrowIfCancellationRequested();
            }
        }
        var (output, outputTail) = await stdout;
        string errors = (await stderr).Kept;
        var elapsed = clock.Elapsed;
        if (timedOut)
            return new SandboxResult(SandboxOutcome.TimedOut, $"ran past the {Limits.WallTime.TotalSeconds:0.#} s wall-time limit", output, errors, elapsed);

        int code = process.ExitCode;
        bool marked = outputTail.TrimEnd('\n').EndsWith(marker, StringComparison.Ordinal);
        if (code == 0 && marked)
        {
            int at = output.LastIndexOf(marker, StringComparison.Ordinal);
            return new SandboxResult(SandboxOutcome.Passed, "", (at >= 0 ? output[..at] : output).TrimEnd('\n'), errors, elapsed);
        }
        output = output.Replace(marker, "", StringComparison.Ordinal);
        if (code == 3 && errors.Contains("sdar-sandbox: exited early", StringComparison.Ordinal))
            return new SandboxResult(SandboxOutcome.ExitedEarly, LastLine(errors), output, errors, elapsed);
        if (code == 1 && errors.Contains("Traceback", StringComparison.Ordinal))
            return new SandboxResult(SandboxOutcome.Failed, LastLine(errors), output, errors, elapsed);
        string reason = code switch
        {
            0 => "ended without finishing its checks (os._exit or a closed stdout)",
            > 128 => $"killed by signal {code - 128}{(code - 128 == 24 ? " (SIGXCPU: the CPU-time limit)" : "")}",
            _ => $"exited with code {code} before finishing its checks",
        };
        if (errors.StartsWith("bwrap:", StringComparison.Ordinal))
            throw new SandboxUnavailableException($"the sandbox could not start: {LastLine(errors)}");
        return new SandboxResult(SandboxOutcome.Crashed, reason, output, errors, elapsed);
    }

    private ProcessStartInfo StartInfo()
    {
        var info = new ProcessStartInfo
        {
            FileName = _dropToNobody ? FindOnPath("setpriv")! : _bwrap,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = "/",
        };
        var args = info.ArgumentList;
        if (_dropToNobody)
            foreach (string a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", _bwrap }) args.Add(a);
        foreach (string a in new[] { "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc" })
            args.Add(a);
        foreach (string folder in Hidden.Where(Directory.Exists).Where(f => !_python.StartsWith(f + "/", StringComparison.Ordinal)))
        {
            args.Add("--tmpfs");
            args.Add(folder);
        }
        foreach (string a in new[] { "--size", Limits.MaxFileBytes.ToString(CultureInfo.InvariantCulture), "--tmpfs", "/tmp", "--chdir", "/tmp", "--clearenv",
                     "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONIOENCODING", "utf-8",
                     _python, "-I", "-c", Harness })
            args.Add(a);
        return info;
    }

    /// <summary>
    /// Reads a stream to its end, keeping its first <paramref name="max"/> characters and, apart, its last few
    /// hundred (where the harness's marker is, however much the program printed).
    /// </summary>
    private static async Task<(string Kept, string Tail)> DrainAsync(StreamReader reader, int max)
    {
        const int TailLength = 256;
        var kept = new StringBuilder();
        string tail = "";
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            if (kept.Length < max) kept.Append(buffer, 0, Math.Min(read, max - kept.Length));
            tail = string.Concat(tail, new string(buffer, 0, read));
            if (tail.Length > TailLength) tail = tail[^TailLength..];
        }
        return (kept.ToString(), tail);
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    private static string? FindOnPath(string name)
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
