namespace Sdar.Training;

/// <summary>
/// Writes a folder so that it exists either complete or not at all: the content goes to a hidden temporary folder
/// beside the target (same file system), which is then renamed into place. A crash mid-write leaves only a
/// temporary folder that is never mistaken for a checkpoint (and is cleaned up by <see cref="RemoveStale"/>).
/// </summary>
public static class AtomicDirectory
{
    private const string TempMarker = ".tmp-";
    private const string OldMarker = ".old-";

    public static void Write(string dir, Action<string> write)
    {
        string target = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(target)!;
        string name = Path.GetFileName(target);
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{name}{TempMarker}{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            if (Directory.Exists(target))
            {
                // Move the old folder aside first: a rename cannot replace a non-empty folder.
                string old = Path.Combine(parent, $".{name}{OldMarker}{Guid.NewGuid():N}");
                Directory.Move(target, old);
                Directory.Move(temp, target);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, target);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Cleans up after an interrupted <see cref="Write"/> in <paramref name="parent"/>: temporary folders are deleted;
    /// a replaced folder whose successor never arrived is put back, otherwise deleted.
    /// </summary>
    public static void RemoveStale(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent))
        {
            string name = Path.GetFileName(dir);
            if (!name.StartsWith('.')) continue;
            int temp = name.IndexOf(TempMarker, StringComparison.Ordinal);
            int old = name.IndexOf(OldMarker, StringComparison.Ordinal);
            if (temp > 0)
            {
                TryDelete(dir);
            }
            else if (old > 0)
            {
                string original = Path.Combine(parent, name[1..old]);
                if (Directory.Exists(original)) TryDelete(dir);
                else Directory.Move(dir, original);
            }
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // The original error matters more than a stray temporary folder.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
