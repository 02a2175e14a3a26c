using System.Globalization;

namespace Sdar.IO;

/// <summary>
/// Keeps a second run from writing an output that a first run is still writing: an exclusively opened lock file
/// <c>.NAME.lock</c> beside the output (FileShare.None, an advisory flock on Linux, so the kernel releases it when
/// the holder dies however it dies). A second <see cref="Acquire"/> fails at once, naming the output and the
/// holder's process id. Disposing deletes the lock file.
/// </summary>
public sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;

    private OutputLock(string path, FileStream stream)
    {
        LockPath = path;
        _stream = stream;
    }

    /// <summary>The lock file.</summary>
    public string LockPath { get; }

    /// <param name="target">The file or folder the run writes.</param>
    /// <param name="flag">The flag that named it (<c>--out</c>), for the message.</param>
    public static OutputLock Acquire(string target, string flag)
    {
        string full = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);
        string path = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (File.Exists(path))
            {
                string holder = LockHolders(path) is [var pid, ..] ? $"process {pid}" : "another process";
                throw new OutputPathException(
                    $"{flag} {full}: {holder} is writing it (lock file {path}); wait for that run to finish or choose another path", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OutputPathException($"{flag} {full}: cannot create the lock file {path} ({e.Message})", e);
            }
            // The previous holder deletes the file while it holds the lock; if we opened it just before that, we
            // now hold a lock on a deleted file that protects nothing, so open the path again.
            if (IsDeleted(stream) && attempt < 10)
            {
                stream.Dispose();
                continue;
            }
            stream.SetLength(0);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
            stream.Flush();
            return new OutputLock(path, stream);
        }
    }

    public void Dispose()
    {
        // Deleted before it is closed, so nobody can take the lock on a file that is about to vanish unnoticed.
        TemporarySiblings.TryDelete(LockPath);
        _stream.Dispose();
    }

    /// <summary>Whether the file behind <paramref name="stream"/> was unlinked (Linux: /proc/self/fd says so).</summary>
    private static bool IsDeleted(FileStream stream)
    {
        if (!OperatingSystem.IsLinux()) return false;
        string fd = $"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}";
        try
        {
            return new FileInfo(fd).LinkTarget?.EndsWith(" (deleted)", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The processes holding <paramref name="lockPath"/> open (Linux, same user), found through /proc/PID/fd.</summary>
    internal static List<int> LockHolders(string lockPath)
    {
        var holders = new List<int>();
        if (!OperatingSystem.IsLinux()) return holders;
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")))
                    if (new FileInfo(fd).LinkTarget == lockPath)
                    {
                        holders.Add(pid);
                        break;
                    }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's process, or one that just exited.
            }
        }
        return holders;
    }
}
