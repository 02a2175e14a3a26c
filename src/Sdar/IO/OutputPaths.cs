namespace Sdar.IO;

/// <summary>
/// Checks an output path before the work starts, so that an unusable one is reported in the first second rather
/// than after hours of training or evaluation: its folder must exist or be creatable and be writable (a probe file
/// is created and deleted), and it must not be a file where a folder is needed or the reverse. Leftovers of a
/// killed earlier write of the same output are removed (<see cref="TemporarySiblings"/>).
/// </summary>
public static class OutputPaths
{
    /// <summary>A folder the run writes (replaced atomically, or filled in place): its parent and, if it exists, itself must be writable.</summary>
    public static void CheckFolder(string path, string flag)
    {
        string full = Require(path, flag);
        if (File.Exists(full)) throw new OutputPathException($"{flag} {full}: is a file; a folder is needed here");
        CheckWritable(Path.GetDirectoryName(full)!, full, flag);
        if (Directory.Exists(full)) CheckWritable(full, full, flag);
        TemporarySiblings.RemoveStale(full);
    }

    /// <summary>A file the run writes (replaced atomically): its folder must be writable.</summary>
    public static void CheckFile(string path, string flag)
    {
        string full = Require(path, flag);
        if (Directory.Exists(full)) throw new OutputPathException($"{flag} {full}: is a folder; a file name is needed here");
        CheckWritable(Path.GetDirectoryName(full)!, full, flag);
        TemporarySiblings.RemoveStale(full);
    }

    /// <summary><see cref="CheckFolder"/>, then an <see cref="OutputLock"/> on it for the run.</summary>
    public static OutputLock ClaimFolder(string path, string flag)
    {
        CheckFolder(path, flag);
        return OutputLock.Acquire(path, flag);
    }

    /// <summary><see cref="CheckFile"/>, then an <see cref="OutputLock"/> on it for the run.</summary>
    public static OutputLock ClaimFile(string path, string flag)
    {
        CheckFile(path, flag);
        return OutputLock.Acquire(path, flag);
    }

    private static string Require(string path, string flag)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new OutputPathException($"{flag}: a path is required");
        try
        {
            return Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar) is { Length: > 0 } full ? full : "/";
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new OutputPathException($"{flag} '{path}': not a usable path ({e.Message})", e);
        }
    }

    private static void CheckWritable(string folder, string target, string flag)
    {
        for (string? ancestor = folder; ancestor is not null; ancestor = Path.GetDirectoryName(ancestor))
            if (File.Exists(ancestor))
                throw new OutputPathException($"{flag} {target}: {ancestor} is a file, so no folder can be made under it");
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".sdar-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputPathException($"{flag} {target}: cannot write in {folder} ({e.Message})", e);
        }
    }
}
