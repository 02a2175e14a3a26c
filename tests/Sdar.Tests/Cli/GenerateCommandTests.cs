using System.Text.Json;

namespace Sdar.Tests.Cli;

public class GenerateCommandTests
{
    private static JsonElement Json(string output) => JsonDocument.Parse(output).RootElement;

    [Fact]
    public void Json_output_has_the_documented_fields_and_matches_the_golden_case()
    {
        // golden.json case sdar_b4_s4_static_p5: greedy, static, exactly 32 tokens.
        var (code, output, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt-ids", "201,141,171,282,228",
            "--max-new-tokens", "32", "--temperature", "0", "--strategy", "low_confidence_static", "--ignore-eos", "--json",
            "--fused-commit", "false");
        Assert.True(code == 0, error);
        var json = Json(output);
        int[] expected = [150, 436, 65, 135, 135, 396, 436, 59, 59, 59, 109, 281, 270, 270, 281, 59, 59, 281, 281, 29, 29, 59, 59, 59, 59, 397, 397, 397, 397, 397, 397, 397];
        Assert.Equal(expected, json.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(35, json.GetProperty("nfe").GetProperty("denoise").GetInt32());
        Assert.Equal(45, json.GetProperty("nfe").GetProperty("total").GetInt32());

        // The default fused commit: the same tokens, one forward less for each of the 9 blocks.
        var (fusedCode, fusedOutput, fusedError) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt-ids", "201,141,171,282,228",
            "--max-new-tokens", "32", "--temperature", "0", "--strategy", "low_confidence_static", "--ignore-eos", "--json");
        Assert.True(fusedCode == 0, fusedError);
        var fused = Json(fusedOutput);
        Assert.Equal(expected, fused.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(35, fused.GetProperty("nfe").GetProperty("denoise").GetInt32());
        Assert.Equal(36, fused.GetProperty("nfe").GetProperty("total").GetInt32());
        Assert.Equal(32.0 / 35, json.GetProperty("tokens_per_forward").GetDouble(), 3);
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal("block_diffusion", json.GetProperty("decoding").GetString());
        Assert.Equal(JsonValueKind.String, json.GetProperty("text").ValueKind);
        Assert.False(json.TryGetProperty("trace", out _));
    }

    [Fact]
    public void Ignore_eos_returns_exactly_max_new_tokens_ids()
    {
        var (code, output, _) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hello world", "-n", "13",
            "--ignore-eos", "--seed", "7", "--json");
        Assert.Equal(0, code);
        Assert.Equal(13, Json(output).GetProperty("token_ids").GetArrayLength());
    }

    [Fact]
    public void Stop_token_given_by_the_user_cuts_the_answer()
    {
        // The golden answer's 8th token is 59; asking to stop at 59 must cut before it.
        var (code, output, _) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt-ids", "201,141,171,282,228",
            "-n", "32", "-t", "0", "--strategy", "low_confidence_static", "--stop-token-ids", "59", "--json");
        Assert.Equal(0, code);
        var json = Json(output);
        Assert.Equal([150, 436, 65, 135, 135, 396, 436], json.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("stop", json.GetProperty("stop_reason").GetString());
        Assert.Equal(59, json.GetProperty("stop_token_id").GetInt32());
    }

    [Fact]
    public void Trace_lists_every_denoising_step_with_its_commits()
    {
        var (code, output, _) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt-ids", "201,141,171,282,228",
            "-n", "32", "-t", "0", "--strategy", "low_confidence_static", "--ignore-eos", "--trace", "--json");
        Assert.Equal(0, code);
        var trace = Json(output).GetProperty("trace").EnumerateArray().ToArray();
        Assert.Equal(35, trace.Length);
        Assert.All(trace, step => Assert.Equal(1, step.GetProperty("commits").GetArrayLength()));
        var first = trace[0].GetProperty("commits")[0];
        Assert.Equal(5, first.GetProperty("position").GetInt32());
        Assert.InRange(first.GetProperty("confidence").GetDouble(), 0, 1);
    }

    [Fact]
    public void Qwen3_models_decode_autoregressively_and_say_so()
    {
        var (code, output, error) = CliRunner.Run("generate", "--model", CliRunner.TinyQwen3, "--prompt-ids", "5,6,7,8,9",
            "-n", "6", "-t", "0", "--ignore-eos", "--json");
        Assert.Equal(0, code);
        Assert.Contains("autoregressive", error);
        var json = Json(output);
        Assert.Equal("autoregressive", json.GetProperty("decoding").GetString());
        Assert.Equal(6, json.GetProperty("nfe").GetProperty("total").GetInt32());
        Assert.Equal(1.0, json.GetProperty("tokens_per_forward").GetDouble());
    }

    [Fact]
    public void Plain_output_streams_text_and_ends_with_a_summary()
    {
        var (code, output, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hello", "--chat",
            "-n", "8", "-t", "0", "--ignore-eos");
        Assert.Equal(0, code);
        Assert.False(string.IsNullOrWhiteSpace(output));
        Assert.Contains("tokens/forward", error);
        Assert.Contains("NFE", error);
    }

    [Theory]
    [InlineData("--steps", "9", "--steps")]
    [InlineData("--top-p", "2", "--top-p")]
    [InlineData("--temperature", "-1", "--temperature")]
    [InlineData("--max-new-tokens", "0", "--max-new-tokens")]
    [InlineData("--strategy", "fastest", "fastest")]
    [InlineData("--threshold", "1.5", "--threshold")]
    [InlineData("--prompt-ids", "1,x", "--prompt-ids")]
    public void Bad_flags_fail_with_a_message_naming_the_flag(string flag, string value, string named)
    {
        string[] args = flag == "--prompt-ids"
            ? ["generate", "--model", CliRunner.TinySdar, flag, value]
            : ["generate", "--model", CliRunner.TinySdar, "--prompt", "hi", flag, value];
        var (code, _, error) = CliRunner.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(named, error);
        Assert.DoesNotContain("   at ", error);   // no stack trace
    }

    [Fact]
    public void Missing_model_folder_is_a_clear_error()
    {
        var (code, _, error) = CliRunner.Run("generate", "--model", "/no/such/model", "--prompt", "hi");
        Assert.NotEqual(0, code);
        Assert.Contains("/no/such/model", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Activations_take_int8_or_float_and_nothing_else()
    {
        var (code, _, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hi", "--activations", "int4");
        Assert.NotEqual(0, code);
        Assert.Contains("--activations", error);
        Assert.DoesNotContain("   at ", error);
        foreach (var activations in new[] { "int8", "float" })
        {
            var (ok, output, _) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hi", "-n", "4", "--activations", activations);
            Assert.Equal(0, ok);
            Assert.False(string.IsNullOrEmpty(output));
        }
    }

    [Fact]
    public void Prompt_and_prompt_ids_are_mutually_exclusive()
    {
        var (code, _, error) = CliRunner.Run("generate", "--model", CliRunner.TinySdar, "--prompt", "hi", "--prompt-ids", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("exactly one of --prompt", error);
    }

    [Fact]
    public void Help_text_matches_the_snapshot()
    {
        var (code, output, _) = CliRunner.Run("generate", "--help");
        Assert.Equal(0, code);
        string snapshot = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cli", "Snapshots", "generate-help.txt"));
        Assert.Equal(snapshot.ReplaceLineEndings(), output.ReplaceLineEndings());
    }
}
