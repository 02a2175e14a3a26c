using System.Text.Json;
using Sdar.Model;

namespace Sdar.Checkpoints;

/// <summary>
/// The weights of a checkpoint folder: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c> lists in its <c>weight_map</c> (tensor name -> shard file). Each shard is
/// mapped once; the tensors point into the mappings and are valid until this object is disposed.
/// </summary>
public sealed class WeightFiles : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafetensorsFile> _fileOf;

    /// <summary>The single weight file or the index file: what "the weights" are, for error messages.</summary>
    public string Origin { get; }
    public IReadOnlyList<SafetensorsFile> Files { get; }
    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; }

    private WeightFiles(string origin, IReadOnlyList<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf)
    {
        Origin = origin;
        Files = files;
        _fileOf = fileOf;
        Tensors = fileOf.ToDictionary(kv => kv.Key, kv => kv.Value.Tensors[kv.Key], StringComparer.Ordinal);
    }

    /// <summary>The path of the file holding tensor <paramref name="name"/>, or <see cref="Origin"/> if none does.</summary>
    public string FileOf(string name) => _fileOf.TryGetValue(name, out var file) ? file.Path : Origin;

    /// <summary>Opens the index when the folder has one, otherwise <c>model.safetensors</c>.</summary>
    public static WeightFiles OpenDirectory(string directory)
    {
        string index = Path.Combine(directory, IndexFileName);
        if (Present(index)) return OpenIndex(index);
        string single = Path.Combine(directory, SingleFileName);
        if (Present(single)) return OpenFile(single);
        throw new CheckpointException(
            $"{Path.GetFullPath(directory)}: no weights found (expected {SingleFileName} or {IndexFileName})");
    }

    public static WeightFiles OpenFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new WeightFiles(file.Path, [file], file.Tensors.Keys.ToDictionary(k => k, _ => file, StringComparer.Ordinal));
    }

    /// <summary>
    /// Opens every shard of <paramref name="indexPath"/>. A missing shard, a listed tensor its shard lacks, or a
    /// tensor a shard holds but the index does not list is an error naming the files and the tensor.
    /// </summary>
    public static WeightFiles OpenIndex(string indexPath)
    {
        indexPath = Path.GetFullPath(indexPath);
        var weightMap = ReadWeightMap(indexPath);
        string folder = Path.GetDirectoryName(indexPath)!;

        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, shardName) in weightMap)
            {
                if (!shards.TryGetValue(shardName, out var shard))
                {
                    string shardPath = Path.Combine(folder, shardName);
                    if (!Present(shardPath))
                        throw new CheckpointException(
                            $"{indexPath}: shard '{shardName}' (listed for tensor '{tensor}') does not exist in {folder}");
                    shard = SafetensorsFile.Open(shardPath);
                    shards.Add(shardName, shard);
                }
                if (!shard.Tensors.ContainsKey(tensor))
                    throw new CheckpointException(
                        $"{shard.Path}: tensor '{tensor}' is listed in {indexPath} but the shard does not contain it");
                fileOf.Add(tensor, shard);
            }
            foreach (var shard in shards.Values)
            {
                var unlisted = shard.Tensors.Keys.Where(k => !fileOf.TryGetValue(k, out var f) || f != shard)
                    .OrderBy(k => k, StringComparer.Ordinal).FirstOrDefault();
                if (unlisted is not null)
                    throw new CheckpointException(
                        $"{shard.Path}: tensor '{unlisted}' is in the shard but {indexPath} does not list it there");
            }
            return new WeightFiles(indexPath, shards.Values.ToList(), fileOf);
        }
        catch
        {
            foreach (var shard in shards.Values) shard.Dispose();
            throw;
        }
    }

    private static List<(string Tensor, string Shard)> ReadWeightMap(string indexPath)
    {
        using (var document = JsonFile.Read(indexPath, "index file"))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{indexPath}: expected an object with a \"weight_map\" object (tensor name -> shard file)");
            var entries = new List<(string, string)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"{indexPath}: weight_map entry '{entry.Name}' must be a shard file name");
                string shard = entry.Value.GetString()!;
                // Shards live next to the index; a path that leaves the folder is a corrupt or hostile index.
                if (shard.Length == 0 || Path.IsPathRooted(shard) || shard.Split('/', '\\').Contains("..") || shard.Any(char.IsControl))
                    throw new CheckpointException($"{indexPath}: weight_map entry '{entry.Name}' names shard '{shard}', which is not a file in the index's folder");
                if (!seen.Add(entry.Name))
                    throw new CheckpointException($"{indexPath}: tensor '{entry.Name}' appears twice in weight_map");
                entries.Add((entry.Name, shard));
            }
            return entries;
        }
    }

    /// <summary>
    /// Something is at <paramref name="path"/>: a file, a link (dangling too, so that opening it says where it points),
    /// or a directory (so that opening it says it is not a regular file).
    /// </summary>
    private static bool Present(string path) =>
        File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    public void Dispose()
    {
        foreach (var file in Files) file.Dispose();
    }
}
