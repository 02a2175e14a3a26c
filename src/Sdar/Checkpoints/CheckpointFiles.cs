using System.Runtime.InteropServices;

namespace Sdar.Checkpoints;

/// <summary>
/// Finds the files of a checkpoint folder the way the HuggingFace hub cache stores them: a name in
/// <c>snapshots/&lt;rev&gt;/</c> is usually a symlink into <c>../../blobs/</c>. Links are resolved to their final
/// target before anything is checked or mapped, and only regular files are accepted: a directory, a device
/// (<c>/dev/zero</c>) or a FIFO as a weight or config file is an error naming it. A FIFO is never opened
/// (opening one for reading blocks until a writer appears).
/// </summary>
public static class CheckpointFiles
{
    /// <summary>
    /// The final target of <paramref name="path"/> (itself when it is not a link), or null when nothing is there
    /// (a missing file or a dangling link: see <see cref="DescribeMissing"/>).
    /// </summary>
    public static string? Resolve(string path)
    {
        path = Path.GetFullPath(path);
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is null) return info.Exists || System.IO.Directory.Exists(path) ? path : null;
        try
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return target is { Exists: true } || (target is not null && System.IO.Directory.Exists(target.FullName)) ? target!.FullName : null;
        }
        catch (IOException)
        {
            return null;   // a link loop, or too many levels of links
        }
    }

    /// <summary>True when <paramref name="path"/> exists, following links (a dangling link does not exist).</summary>
    public static bool Exists(string path) => Resolve(path) is not null;

    /// <summary>
    /// The regular file behind <paramref name="path"/> (links resolved), or a <see cref="CheckpointException"/>
    /// naming <paramref name="path"/> and saying why it cannot be read as <paramref name="what"/>.
    /// </summary>
    public static string RequireRegularFile(string path, string what)
    {
        path = Path.GetFullPath(path);
        string? target = Resolve(path) ?? throw new CheckpointException(DescribeMissing(path, what));
        string shown = target == path ? path : $"{path} (-> {target})";
        if (System.IO.Directory.Exists(target))
            throw new CheckpointException($"{shown}: {what} is a directory, not a regular file");
        if (KindOf(target) is { } kind and not "regular file")
            throw new CheckpointException($"{shown}: {what} is a {kind}, not a regular file");
        return target;
    }

    /// <summary>"file not found", or for a dangling link where it points.</summary>
    public static string DescribeMissing(string path, string what)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is { } link
            ? $"{path}: {what} is a symbolic link to '{link}', which does not exist (an incomplete download?)"
            : $"{path}: {what} not found";
    }

    /// <summary>
    /// The file type of <paramref name="path"/> ("regular file", "FIFO", "character device", ...) from stat(2),
    /// through the runtime's own native shim (the one FileInfo uses, with a layout fixed by .NET itself rather than
    /// by the C library). Null when the type cannot be told (another OS): callers then rely on the size checks
    /// every reader does anyway (a device or FIFO reports 0 bytes).
    /// </summary>
    internal static string? KindOf(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        try
        {
            // Interop.Sys.FileStatus starts { int Flags; int Mode; ... }; the buffer is far larger than the struct.
            Span<int> status = stackalloc int[128];
            if (NativeStat(path, ref MemoryMarshal.GetReference(status)) != 0) return null;
            return (status[1] & 0xF000) switch
            {
                0x8000 => "regular file",
                0x4000 => "directory",
                0x1000 => "FIFO (named pipe)",
                0x2000 => "character device",
                0x6000 => "block device",
                0xC000 => "socket",
                0xA000 => "symbolic link",
                _ => null,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            return null;
        }
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    private static extern int NativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref int status);
}
