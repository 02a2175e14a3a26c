namespace Sdar.IO;

/// <summary>
/// Writes a folder so that it exists either complete or not at all: the content goes to a hidden temporary folder
/// beside the target (same file system), which is then renamed into place. A crash mid-write leaves only a
/// temporary folder (<c>.NAME.tmp-PID-GUID</c>) that is never mistaken for the output, and that the next write of
/// the same output, or <see cref="RemoveStale"/>, removes once its writer is gone (<see cref="TemporarySiblings"/>).
/// </summary>
public static class AtomicDirectory
{
    public static void Write(string dir, Action<string> write)
    {
        string target = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        TemporarySiblings.RemoveStale(target);
        string temp = TemporarySiblings.NewTemporary(target);
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            if (Directory.Exists(target))
            {
                // Move the old folder aside first: a rename cannot replace a non-empty folder.
                string old = TemporarySiblings.NewReplaced(target);
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
            TemporarySiblings.TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Cleans up after interrupted <see cref="Write"/>s in <paramref name="parent"/> whose writers are gone:
    /// temporary folders are deleted; a replaced folder whose successor never arrived is put back, otherwise deleted.
    /// </summary>
    public static void RemoveStale(string parent) => TemporarySiblings.RemoveStaleIn(parent);
}
