using Sdar.Checkpoints;
using Sdar.Runtime;

namespace Sdar.Tests.Checkpoints;

public class HubCacheFolderTests
{
    [Fact]
    public void A_hub_cache_repository_folder_opens_the_snapshot_refs_main_names()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path);
        using var checkpoint = Checkpoint.Open(repository);
        Assert.Equal(CheckpointFolderFixtures.Snapshot(repository), checkpoint.Directory);
        Assert.Equal(2, checkpoint.Config.NumHiddenLayers);
        Assert.Equal([510], checkpoint.GenerationConfig.EosTokenIds);
    }

    [Fact]
    public void A_snapshot_folder_of_symlinks_opens_directly_and_maps_the_blobs()
    {
        using var temp = new TempDir();
        string snapshot = CheckpointFolderFixtures.Snapshot(CheckpointFolderFixtures.HubCache(temp.Path));
        Assert.NotNull(new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget);
        using var fromLinks = Checkpoint.Open(snapshot);
        using var plain = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));
        Assert.Equal(plain.Weights.EmbedTokens.ToFloatArray(), fromLinks.Weights.EmbedTokens.ToFloatArray());
    }

    [Fact]
    public void LoadedModel_opens_a_hub_cache_folder_with_its_tokenizer()
    {
        using var temp = new TempDir();
        using var model = LoadedModel.Open(CheckpointFolderFixtures.HubCache(temp.Path));
        Assert.NotEmpty(model.Tokenizer.Encode("hello"));
    }

    [Fact]
    public void Without_refs_main_the_only_snapshot_is_used()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path, writeRef: false);
        using var checkpoint = Checkpoint.Open(repository);
        Assert.Equal(CheckpointFolderFixtures.Snapshot(repository), checkpoint.Directory);
    }

    [Fact]
    public void Without_refs_main_several_snapshots_are_an_error_listing_them()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path, revision: "aaaa", writeRef: false);
        CheckpointFolderFixtures.HubCache(temp.Path, revision: "bbbb", writeRef: false);
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(repository));
        Assert.Contains("refs/main", error.Message);
        Assert.Contains("aaaa", error.Message);
        Assert.Contains("bbbb", error.Message);
    }

    [Fact]
    public void A_refs_main_naming_a_missing_snapshot_is_an_error_naming_both()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path);
        File.WriteAllText(Path.Combine(repository, "refs", "main"), "feedface\n");
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(repository));
        Assert.Contains(Path.Combine(repository, "refs", "main"), error.Message);
        Assert.Contains("feedface", error.Message);
    }

    [Fact]
    public void A_refs_main_that_leaves_the_snapshots_folder_is_refused()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path);
        File.WriteAllText(Path.Combine(repository, "refs", "main"), "../../..");
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(repository));
        Assert.Contains("expected a commit hash", error.Message);
    }

    [Fact]
    public void A_dangling_weight_link_is_an_error_saying_where_it_points()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path);
        string snapshot = CheckpointFolderFixtures.Snapshot(repository);
        File.Delete(Path.Combine(repository, "blobs", Path.GetFileName(new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget!)));
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(repository));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("symbolic link", error.Message);
    }

    [Fact]
    public void A_directory_as_weights_is_an_error_saying_it_is_not_a_regular_file()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "config.json");
        Directory.CreateDirectory(Path.Combine(dir, "model.safetensors"));
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("not a regular file", error.Message);
    }

    [Fact]
    public void Dev_zero_as_weights_is_an_error_saying_it_is_not_a_regular_file()
    {
        if (!File.Exists("/dev/zero")) return;
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "config.json");
        File.CreateSymbolicLink(Path.Combine(dir, "model.safetensors"), "/dev/zero");
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("character device, not a regular file", error.Message);
    }

    [Fact]
    public void A_fifo_as_weights_or_config_is_refused_without_blocking()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "config.json");
        if (!CheckpointFolderFixtures.TryMakeFifo(Path.Combine(dir, "model.safetensors"))) return;
        var open = Task.Run(() => Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir)));
        Assert.True(open.Wait(TimeSpan.FromSeconds(10)), "opening a FIFO blocked");
        Assert.Contains("FIFO", open.Result.Message);

        File.Delete(Path.Combine(dir, "model.safetensors"));
        File.Delete(Path.Combine(dir, "config.json"));
        CheckpointFolderFixtures.TryMakeFifo(Path.Combine(dir, "config.json"));
        var config = Task.Run(() => Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir)));
        Assert.True(config.Wait(TimeSpan.FromSeconds(10)), "opening a FIFO blocked");
        Assert.Contains("config.json", config.Result.Message);
        Assert.Contains("not a regular file", config.Result.Message);
    }

    [Fact]
    public void A_missing_folder_is_an_error_naming_it()
    {
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open("/nonexistent/sdar-model"));
        Assert.Contains("/nonexistent/sdar-model", error.Message);
    }

    [Fact]
    public void The_tokenizer_of_a_folder_without_config_or_weights_opens()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "tokenizer.json", "tokenizer_config.json");
        var tokenizer = ModelTokenizer.Open(dir);
        Assert.Equal(LoadedModelTokens("hello world"), tokenizer.Tokenizer.Encode("hello world"));
        Assert.NotNull(tokenizer.ChatTemplate);
    }

    [Fact]
    public void The_tokenizer_of_a_hub_cache_folder_with_tokenizer_files_only_opens()
    {
        using var temp = new TempDir();
        string repository = CheckpointFolderFixtures.HubCache(temp.Path, files: ["tokenizer.json"]);
        Assert.Equal(LoadedModelTokens("hello world"), ModelTokenizer.Open(repository).Tokenizer.Encode("hello world"));
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_an_error_naming_the_file()
    {
        using var temp = new TempDir();
        var error = Assert.Throws<CheckpointException>(() => ModelTokenizer.Open(temp.Path));
        Assert.Contains(Path.Combine(temp.Path, "tokenizer.json"), error.Message);
    }

    private static IReadOnlyList<int> LoadedModelTokens(string text)
    {
        using var model = LoadedModel.Open(TestFiles.Fixture("tiny-sdar"));
        return model.Tokenizer.Encode(text);
    }
}
