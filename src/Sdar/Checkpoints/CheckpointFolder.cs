namespace Sdar.Checkpoints;

/// <summary>
/// Finds the folder that holds a model's files. Besides a plain folder, this accepts the layout of the HuggingFace
/// hub cache (<c>~/.cache/huggingface/hub</c>): a repository folder <c>models--Org--Name</c> holds
/// <c>refs/main</c> (the commit hash of the main branch) and <c>snapshots/&lt;hash&gt;/</c>, whose files are
/// symlinks into <c>blobs/</c>. A snapshot folder given directly is a plain folder (its links are followed when
/// the files are read).
/// </summary>
public static class CheckpointFolder
{
    /// <summary>
    /// The folder holding <paramref name="requiredFile"/> (<c>config.json</c> for a checkpoint, <c>tokenizer.json</c>
    /// for a tokenizer): <paramref name="path"/> itself, or for a hub repository folder the snapshot
    /// <c>refs/main</c> names (or its only snapshot when there is no <c>refs/main</c>). A folder that is neither is
    /// returned as it is, so the caller's error names the missing file; a broken hub folder is an error saying what
    /// is missing.
    /// </summary>
    public static string Resolve(string path, string requiredFile)
    {
        string directory = Path.GetFullPath(path);
        string? target = CheckpointFiles.Resolve(directory);
        if (target is null || !Directory.Exists(target))
            throw new CheckpointException(target is null
                ? $"{directory}: model folder not found"
                : $"{directory}: not a folder (a model is a folder with {requiredFile})");
        if (CheckpointFiles.Exists(Path.Combine(directory, requiredFile))) return directory;
        string snapshots = Path.Combine(directory, "snapshots");
        return Directory.Exists(snapshots) ? SnapshotOf(directory, snapshots, requiredFile) : directory;
    }

    private static string SnapshotOf(string repository, string snapshots, string requiredFile)
    {
        string refPath = Path.Combine(repository, "refs", "main");
        string snapshot;
        if (CheckpointFiles.Exists(refPath))
        {
            string revision = ReadRevision(refPath);
            snapshot = Path.Combine(snapshots, revision);
            if (!Directory.Exists(snapshot))
                throw new CheckpointException(
                    $"{refPath}: names revision '{revision}', but {snapshot} does not exist (an incomplete download?)");
        }
        else
        {
            var all = Directory.GetDirectories(snapshots).Order(StringComparer.Ordinal).ToList();
            snapshot = all.Count switch
            {
                1 => all[0],
                0 => throw new CheckpointException(
                    $"{repository}: a HuggingFace cache folder without refs/main, and {snapshots} is empty; download the model again"),
                _ => throw new CheckpointException(
                    $"{repository}: a HuggingFace cache folder without refs/main and with {all.Count} snapshots " +
                    $"({string.Join(", ", all.Select(Path.GetFileName))}); pass one of {snapshots}/<revision>"),
            };
        }
        if (!CheckpointFiles.Exists(Path.Combine(snapshot, requiredFile)))
            throw new CheckpointException(CheckpointFiles.DescribeMissing(Path.Combine(snapshot, requiredFile), requiredFile) +
                $" (the snapshot of HuggingFace cache folder {repository})");
        return snapshot;
    }

    /// <summary>refs/main holds one commit hash; anything that could leave snapshots/ is refused.</summary>
    private static string ReadRevision(string refPath)
    {
        string file = CheckpointFiles.RequireRegularFile(refPath, "refs/main");
        if (new FileInfo(file).Length > 1024)
            throw new CheckpointException($"{refPath}: expected a commit hash, found a {new FileInfo(file).Length}-byte file");
        string revision = File.ReadAllText(file).Trim();
        if (revision.Length == 0 || revision is "." or ".." || revision.IndexOfAny(['/', '\\', '\0']) >= 0 ||
            revision.Any(char.IsControl))
            throw new CheckpointException($"{refPath}: expected a commit hash, found '{revision.ReplaceLineEndings(" ")}'");
        return revision;
    }
}
