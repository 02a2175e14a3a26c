using Sdar.IO;

namespace Sdar.Checkpoints;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one, never a half-written file:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic), are flushed
/// to disk, and the temporary file is then renamed over the target. A failure deletes the temporary file; the
/// temporary of a killed writer (named <c>.NAME.tmp-PID-GUID</c>, see <see cref="TemporarySiblings"/>) is removed
/// by the next write of the same file.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string target = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        TemporarySiblings.RemoveStale(target);
        string temp = TemporarySiblings.NewTemporary(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TemporarySiblings.TryDelete(temp);
            throw;
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
            writer.Write(text);
        });
}
