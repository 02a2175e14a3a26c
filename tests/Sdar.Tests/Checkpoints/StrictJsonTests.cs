using System.Text;
using Sdar.Checkpoints;

namespace Sdar.Tests.Checkpoints;

/// <summary>Every JSON file of a checkpoint is read as strict UTF-8 JSON; defects are one-line errors naming the file.</summary>
public class StrictJsonTests
{
    private static string TinyConfig => File.ReadAllText(TestFiles.Fixture("tiny-sdar/config.json"));

    private static CheckpointException OpenFails(string dir)
    {
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.DoesNotContain('\n', error.Message);
        return error;
    }

    [Theory]
    [InlineData("\"model_type\": \"sdar\"", "\"model_type\": \"sdar\", \"note\": \"\\ud800\"")]          // unknown key
    [InlineData("\"model_type\": \"sdar\"", "\"model_type\": \"\\udc00sdar\"")]                          // known key
    [InlineData("\"model_type\": \"sdar\"", "\"model_type\": \"sdar\", \"\\ud800\": 1")]                 // a key itself
    public void A_lone_surrogate_in_config_json_is_an_error_naming_the_file(string find, string replace)
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        File.WriteAllText(Path.Combine(dir, "config.json"), TinyConfig.Replace(find, replace, StringComparison.Ordinal));
        var error = OpenFails(dir);
        Assert.Contains(Path.Combine(dir, "config.json"), error.Message);
        Assert.Contains("surrogate", error.Message);
    }

    [Fact]
    public void The_field_holding_a_lone_surrogate_is_named()
    {
        var error = Assert.Throws<CheckpointException>(() =>
            ConfigLoader.ParseModelConfig(TinyConfig.Replace("\"silu\"", "\"si\\ud800lu\"", StringComparison.Ordinal), "/m/config.json"));
        Assert.Contains("'hidden_act'", error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_config_json_is_an_error_naming_the_file_and_offset()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        var bytes = Encoding.UTF8.GetBytes(TinyConfig.Replace("SDARForCausalLM", "SDAR\u00e9ForCausalLM", StringComparison.Ordinal)).ToList();
        int at = bytes.IndexOf(0xC3);
        bytes[at + 1] = 0x28;   // C3 28: a lead byte without its continuation
        File.WriteAllBytes(Path.Combine(dir, "config.json"), [.. bytes]);
        var error = OpenFails(dir);
        Assert.Contains(Path.Combine(dir, "config.json"), error.Message);
        Assert.Contains($"not valid UTF-8 (byte 0xC3 at offset {at})", error.Message);
    }

    [Theory]
    [InlineData("{\"eos_token_id\": [510], \"pad_token_id\": 510, \"x\": \"\\ud800\"}", "surrogate")]
    [InlineData("{\"eos_token_id\": [510], \"eos_token_id\": 3}", "'eos_token_id' appears twice")]
    [InlineData("{\"eos_token_id\": [510], \"temperature\": \"hot\"}", "'temperature' must be a number")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"eos_token_id\": ", "not valid JSON")]
    public void A_broken_generation_config_json_is_an_error_naming_the_file(string json, string expected)
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), json);
        var error = OpenFails(dir);
        Assert.Contains(Path.Combine(dir, "generation_config.json"), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_generation_config_json_is_an_error_naming_the_file()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        File.WriteAllBytes(Path.Combine(dir, "generation_config.json"), [.. "{\"a\": \""u8, 0xFF, .. "\"}"u8]);
        var error = OpenFails(dir);
        Assert.Contains("generation_config.json: not valid UTF-8", error.Message);
    }

    [Theory]
    [InlineData("{\"__metadata__\": {\"format\": \"\\ud800\"}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "'__metadata__.format'")]
    [InlineData("{\"w\\udfff\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "surrogate")]
    [InlineData("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "'w' appears twice")]
    [InlineData("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", 4]}}", "data_offsets must be [begin, end]")]
    [InlineData("{\"w\": {\"dtype\": \"F32\", \"shape\": [1e308], \"data_offsets\": [0, 4]}}", "must hold integers")]
    public void A_broken_safetensors_header_is_an_error_naming_the_file(string header, string expected)
    {
        using var temp = new TempDir();
        string path = temp.File("model.safetensors");
        TestFiles.WriteRaw(path, header, new byte[4]);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_safetensors_header_is_an_error_naming_the_file()
    {
        using var temp = new TempDir();
        string path = temp.File("model.safetensors");
        TestFiles.WriteRaw(path, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]);
        var bytes = File.ReadAllBytes(path);
        bytes[8 + 2] = 0xFE;   // inside the tensor name
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains($"{path}: the header: not valid UTF-8", error.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"model.norm.weight\": \"model-\\ud800.safetensors\"}}", "surrogate")]
    [InlineData("{\"metadata\": {\"total_size\": \"\\udbff\"}, \"weight_map\": {}}", "'metadata.total_size'")]
    [InlineData("{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}", "'weight_map.a' appears twice")]
    [InlineData("{\"weight_map\": 3}", "weight_map")]
    public void A_broken_shard_index_is_an_error_naming_the_file(string json, string expected)
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "config.json");
        File.WriteAllText(Path.Combine(dir, WeightFiles.IndexFileName), json);
        var error = OpenFails(dir);
        Assert.Contains(Path.Combine(dir, WeightFiles.IndexFileName), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_byte_order_mark_is_accepted()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path);
        File.WriteAllBytes(Path.Combine(dir, "config.json"), [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(TinyConfig)]);
        using var checkpoint = Checkpoint.Open(dir);
        Assert.Equal(64, checkpoint.Config.HiddenSize);
    }
}

/// <summary>Untrusted names quoted in messages cannot break them over lines; found by the checkpoint fuzzer.</summary>
public class UntrustedNameTests
{
    [Fact]
    public void A_control_character_in_a_shard_name_is_a_checkpoint_error_not_an_argument_exception()
    {
        using var temp = new TempDir();
        string dir = CheckpointFolderFixtures.CopyTiny(temp.Path, "config.json");
        File.WriteAllText(Path.Combine(dir, WeightFiles.IndexFileName), "{\"weight_map\": {\"model.norm.weight\": \"a\\u0000b.safetensors\"}}");
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("'a\\u0000b.safetensors'", error.Message);
    }

    [Fact]
    public void A_newline_in_a_tensor_name_is_escaped_in_the_message()
    {
        using var temp = new TempDir();
        string path = temp.File("model.safetensors");
        TestFiles.WriteRaw(path, "{\"line\\nbreak\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", new byte[8]);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("'line\\nbreak'", error.Message);
    }
}
