using System.Diagnostics;
using System.Globalization;

namespace Sdar.IO;

/// <summary>
/// Names and cleans up the temporary siblings of an output that is written atomically: <c>.NAME.tmp-PID-GUID</c>
/// (the content being written) and <c>.NAME.old-PID-GUID</c> (a folder being replaced), both beside NAME so the
/// final rename stays on one file system. The writer's process id is in the name, so a later run can tell the
/// leftovers of a killed writer (its process is gone) from the work of a live one, and remove only the former.
/// </summary>
public static class TemporarySiblings
{
    private const string TempMarker = ".tmp-";
    private const string OldMarker = ".old-";

    /// <summary>A new temporary path beside <paramref name="target"/> for this process.</summary>
    public static string NewTemporary(string target) => NewSibling(target, TempMarker);

    /// <summary>A new path beside <paramref name="target"/> to move a replaced folder to.</summary>
    public static string NewReplaced(string target) => NewSibling(target, OldMarker);

    /// <summary>
    /// Removes the leftovers of killed writes of <paramref name="target"/>: temporaries are deleted; a replaced
    /// folder whose successor never arrived is put back as <paramref name="target"/>, otherwise deleted.
    /// </summary>
    public static void RemoveStale(string target)
    {
        string full = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);
        RemoveStaleIn(Path.GetDirectoryName(full)!, Path.GetFileName(full));
    }

    /// <summary>Removes the leftovers of killed writes of every output in <paramref name="folder"/>.</summary>
    public static void RemoveStaleIn(string folder) => RemoveStaleIn(folder, only: null);

    private static void RemoveStaleIn(string folder, string? only)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var path in Directory.EnumerateFileSystemEntries(folder, "." + (only ?? "") + "*"))
        {
            if (Parse(Path.GetFileName(path)) is not { } leftover) continue;
            if (only is not null && leftover.Target != only) continue;
            if (leftover.OwnerPid is { } pid && IsAlive(pid)) continue;
            string original = Path.Combine(folder, leftover.Target);
            if (leftover.Replaced && !Path.Exists(original)) Directory.Move(path, original);
            else TryDelete(path);
        }
    }

    private static string NewSibling(string target, string marker)
    {
        string full = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);
        return Path.Combine(Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}{marker}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}");
    }

    private sealed record Leftover(string Target, bool Replaced, int? OwnerPid);

    /// <summary>
    /// Reads a leftover's name. Names from before the process id was recorded (<c>.NAME.tmp-GUID</c> folders,
    /// <c>.NAME.GUID.tmp</c> files) have no owner and count as stale.
    /// </summary>
    private static Leftover? Parse(string name)
    {
        if (!name.StartsWith('.')) return null;
        foreach (var (marker, replaced) in new[] { (TempMarker, false), (OldMarker, true) })
        {
            int at = name.LastIndexOf(marker, StringComparison.Ordinal);
            if (at <= 1) continue;
            string[] rest = name[(at + marker.Length)..].Split('-');
            if (rest is [var pid, var guid] && IsGuid(guid) && int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int owner))
                return new Leftover(name[1..at], replaced, owner);
            if (rest is [var legacyGuid] && IsGuid(legacyGuid)) return new Leftover(name[1..at], replaced, null);
        }
        // Legacy AtomicFile temporaries: .NAME.GUID.tmp
        if (name.EndsWith(".tmp", StringComparison.Ordinal) && name.Length > 38 && name[^37] == '.' && IsGuid(name[^36..^4]))
            return new Leftover(name[1..^37], false, null);
        return null;
    }

    private static bool IsGuid(string text) => text.Length == 32 && Guid.TryParseExact(text, "N", out _);

    /// <summary>Whether a process with this id is running (a reused id counts as alive: the leftover is kept).</summary>
    internal static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Deletes a file or folder if it can; a failure is left for a later run.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover that cannot be removed now is tried again by the next run; it never blocks this one.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
