using System.Text.Json;
using Sdar.Cli;

namespace Sdar.Tests.Cli;

public class OtherCommandTests
{
    [Fact]
    public void Tokenize_json_gives_text_ids_and_decoded()
    {
        var (code, output, _) = CliRunner.Run("tokenize", "--model", CliRunner.TinySdar, "--text", "hello world", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal("hello world", json.GetProperty("text").GetString());
        Assert.Equal("hello world", json.GetProperty("decoded").GetString());
        Assert.True(json.GetProperty("ids").GetArrayLength() > 0);
    }

    [Fact]
    public void Tokenize_messages_renders_the_chat_template()
    {
        string file = Path.Combine(Path.GetTempPath(), $"sdar-messages-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]""");
        try
        {
            var (code, output, _) = CliRunner.Run("tokenize", "--model", CliRunner.TinySdar, "--messages", file,
                "--enable-thinking", "false", "--json");
            Assert.Equal(0, code);
            var json = JsonDocument.Parse(output).RootElement;
            // tiny-sdar's template is plain ChatML (no thinking block).
            Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
                json.GetProperty("text").GetString());
            var ids = json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(506, ids[0]);   // <|im_start|> as one id

            (code, output, _) = CliRunner.Run("tokenize", "--model", CliRunner.TinySdar, "--messages", file, "--add-generation-prompt", "false");
            Assert.Equal(0, code);
            Assert.DoesNotContain("assistant", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Tokenize_reports_bad_message_files_with_the_field()
    {
        string file = Path.Combine(Path.GetTempPath(), $"sdar-messages-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """[{"content": "no role"}]""");
        try
        {
            var (code, _, error) = CliRunner.Run("tokenize", "--model", CliRunner.TinySdar, "--messages", file);
            Assert.NotEqual(0, code);
            Assert.Contains("messages[0].role", error);
            Assert.Contains(file, error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Info_describes_the_model()
    {
        var (code, output, _) = CliRunner.Run("info", "--model", CliRunner.TinySdar);
        Assert.Equal(0, code);
        Assert.Contains("model_type:    sdar", output);
        Assert.Contains("139,648", output);
        Assert.Contains("block_size:    4, mask token: 511 (<|MASK|>)", output);
        Assert.Contains("<|im_end|>=507", output);
    }

    [Fact]
    public void Bench_prints_one_json_object_per_case()
    {
        var (code, output, error) = CliRunner.Run("bench", "--model", CliRunner.TinySdar, "--tokens", "1,4", "--cache", "0,8",
            "--repeats", "1", "--reference-max-tokens", "1", "--json");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        foreach (var line in lines)
        {
            var json = JsonDocument.Parse(line).RootElement;
            foreach (var field in new[] { "tokens", "cache", "ms", "weight_gb_per_s", "gflops", "floor_ms", "floor_ratio", "best_ms", "best_floor_ratio", "reference_ms" })
                Assert.True(json.TryGetProperty(field, out _), $"missing {field}");
            Assert.True(json.GetProperty("ms").GetDouble() > 0);
            Assert.True(json.GetProperty("best_ms").GetDouble() <= json.GetProperty("ms").GetDouble());
            Assert.Equal(json.GetProperty("tokens").GetInt32() == 1, json.GetProperty("reference_ms").ValueKind == JsonValueKind.Number);
        }
    }

    [Fact]
    public void Bench_engine_prints_one_json_object_per_concurrency_with_the_documented_fields()
    {
        var (code, output, error) = CliRunner.Run("bench", "engine", "--model", CliRunner.TinySdar, "--concurrency", "1,3",
            "--requests", "4", "--max-new-tokens", "8", "--ignore-eos", "--json");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        for (int i = 0; i < 2; i++)
        {
            var json = JsonDocument.Parse(lines[i]).RootElement;
            foreach (var field in new[] { "concurrency", "tokens_per_second", "tokens_per_forward", "latency_ms_p50", "latency_ms_p95",
                         "first_block_ms_mean", "gflops", "machine_peak_gflops" })
                Assert.True(json.TryGetProperty(field, out _), $"missing {field}");
            Assert.Equal(i == 0 ? 1 : 3, json.GetProperty("concurrency").GetInt32());
            Assert.Equal(4, json.GetProperty("requests").GetInt32());
            Assert.Equal(32, json.GetProperty("generated_tokens").GetInt32());
            Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
            Assert.True(json.GetProperty("latency_ms_p95").GetDouble() >= json.GetProperty("latency_ms_p50").GetDouble());
        }
        (code, _, error) = CliRunner.Run("bench", "engine", "--concurrency", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("--model DIR or --shape NAME", error);
    }

    [Fact]
    public void Bench_kernels_times_every_format_and_activation_kind_and_checks_its_flags()
    {
        var (code, output, error) = CliRunner.Run("bench", "kernels", "--n", "8", "--k", "64", "--tokens", "1,5", "--rounds", "1", "--json");
        Assert.True(code == 0, error);
        var cases = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        int perT = System.Runtime.Intrinsics.X86.Avx2.IsSupported ? 5 : 3;   // bf16, then q8 and q4 on int8 (AVX2) and float
        Assert.Equal(2 * perT, cases.Count);
        foreach (var json in cases)
        {
            foreach (var field in new[] { "tokens", "weights", "activations", "ms", "weight_gb_per_s", "ratio_to_bf16" })
                Assert.True(json.TryGetProperty(field, out _), $"missing {field}");
            Assert.True(json.GetProperty("ms").GetDouble() > 0);
        }
        Assert.Equal(1.0, cases.Single(c => c.GetProperty("tokens").GetInt32() == 5 && c.GetProperty("weights").GetString() == "bf16").GetProperty("ratio_to_bf16").GetDouble());
        Assert.Contains(cases, c => c.GetProperty("weights").GetString() == "q4" && c.GetProperty("activations").GetString() == "float");
        (code, _, error) = CliRunner.Run("bench", "kernels", "--k", "48");
        Assert.NotEqual(0, code);
        Assert.Contains("--k: expected a multiple of 32", error);
    }

    [Fact]
    public void Bench_runs_a_quantized_folder_given_as_model()
    {
        using var dir = new Sdar.Tests.Checkpoints.TempDir();
        string quantized = Path.Combine(dir.Path, "q4");
        var (code, _, error) = CliRunner.Run("quantize", "--model", CliRunner.TinyQwen3, "--out", quantized, "--format", "q4");
        Assert.True(code == 0, error);
        (code, var output, error) = CliRunner.Run("bench", "--model", quantized, "--tokens", "1,4", "--cache", "8", "--repeats", "1",
            "--reference-max-tokens", "1", "--json");
        Assert.True(code == 0, error);
        Assert.Contains("q4_0", error, StringComparison.Ordinal);
        Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        (code, output, error) = CliRunner.Run("bench", "engine", "--model", quantized, "--concurrency", "2", "--requests", "2",
            "--max-new-tokens", "4", "--ignore-eos", "--json");
        Assert.True(code == 0, error);
        Assert.Equal(8, JsonDocument.Parse(output).RootElement.GetProperty("generated_tokens").GetInt32());
    }

    [Theory]
    [InlineData("bench")]
    [InlineData("bench engine")]
    public void Bench_weights_takes_bf16_q8_or_q4_and_only_with_a_shape(string verb)
    {
        string[] Args(params string[] rest) => [.. verb.Split(' '), .. rest];
        var (code, output, error) = CliRunner.Run(Args("--shape", "sdar-1.7b", "--weights", "q5"));
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--weights: expected bf16, q8 or q4; got 'q5'", error, StringComparison.Ordinal);
        Assert.Equal("", output);
        (code, _, error) = CliRunner.Run(Args("--model", CliRunner.TinySdar, "--weights", "q8"));
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains("--weights applies to --shape", error, StringComparison.Ordinal);
        Assert.Contains("sdar quantize", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_needs_a_model_or_a_shape()
    {
        var (code, _, error) = CliRunner.Run("bench", "--tokens", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("--model DIR or --shape NAME", error);
        (code, _, error) = CliRunner.Run("bench", "--shape", "sdar-100b");
        Assert.NotEqual(0, code);
        Assert.Contains("sdar-100b", error);
    }

    [Fact]
    public void Corrupt_checkpoint_is_reported_without_a_stack_trace()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"sdar-bad-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(CliRunner.TinySdar)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var weights = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(weights);
            File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);   // truncated
            var (code, _, error) = CliRunner.Run("generate", "--model", dir, "--prompt", "hi");
            Assert.NotEqual(0, code);
            Assert.Contains("model.safetensors", error);
            Assert.DoesNotContain("   at ", error);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public class EvalCommandTests
{
    private static string WriteData(string contents)
    {
        string file = Path.Combine(Path.GetTempPath(), $"sdar-eval-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(file, contents);
        return file;
    }

    [Fact]
    public void Eval_reports_accuracy_and_tokens_per_forward_as_json()
    {
        string file = WriteData("""
            {"question": "What is 2 + 3?", "answer": "2 + 3 = 5.\n#### 5"}
            {"question": "What is 4 * 4?", "answer": "4 * 4 = 16.\n#### 16"}
            {"question": "How many minutes are in 2 hours?", "answer": "2 * 60 = 120.\n#### 120"}
            """);
        string predictions = file + ".predictions.jsonl";
        try
        {
            var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", file, "-n", "12",
                "--batch-size", "2", "--predictions", predictions, "--json");
            Assert.True(code == 0, error);
            var json = System.Text.Json.JsonDocument.Parse(output).RootElement;
            Assert.Equal(3, json.GetProperty("count").GetInt32());
            Assert.InRange(json.GetProperty("accuracy").GetDouble(), 0, 1);
            Assert.True(json.GetProperty("tokens_per_forward").GetDouble() > 0);
            Assert.Equal(3, File.ReadAllLines(predictions).Length);
        }
        finally
        {
            File.Delete(file);
            File.Delete(predictions);
            File.Delete(predictions + ".run.json");
        }
    }

    [Fact]
    public void Eval_batches_decode_exactly_as_single_questions()
    {
        string file = WriteData("""
            {"question": "What is 2 + 3?", "answer": "#### 5"}
            {"question": "What is 14 - 4?", "answer": "#### 10"}
            {"question": "Sort 3, 1, 2.", "answer": "#### 123"}
            """);
        try
        {
            var one = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", file, "-n", "16", "--batch-size", "1", "--json");
            var three = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", file, "-n", "16", "--batch-size", "3", "--json");
            var a = System.Text.Json.JsonDocument.Parse(one.Output).RootElement;
            var b = System.Text.Json.JsonDocument.Parse(three.Output).RootElement;
            Assert.Equal(a.GetProperty("nfe_total").GetInt64(), b.GetProperty("nfe_total").GetInt64());
            Assert.Equal(a.GetProperty("generated_tokens").GetInt64(), b.GetProperty("generated_tokens").GetInt64());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Eval_refuses_a_question_longer_than_the_context_before_the_first_forward()
    {
        string longQuestion = string.Join(' ', Enumerable.Repeat("hello world", 2_000));
        string file = WriteData($"{{\"question\": \"ok\", \"answer\": \"#### 1\"}}\n{{\"question\": \"{longQuestion}\", \"answer\": \"#### 2\"}}\n");
        try
        {
            var (code, output, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", file, "--no-chat");
            Assert.Equal(Sdar.Cli.SdarCli.ExitBadInput, code);
            Assert.Contains("item 1 of the data: the prompt (", error, StringComparison.Ordinal);
            Assert.Contains("--max-new-tokens 256", error, StringComparison.Ordinal);
            Assert.Contains("but the model has 1024 (max_position_embeddings in config.json)", error, StringComparison.Ordinal);
            Assert.Equal("", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Eval_names_the_bad_line_of_a_data_file()
    {
        string file = WriteData("{\"question\": \"ok\", \"answer\": \"#### 1\"}\n{\"question\": 5}\n");
        try
        {
            var (code, _, error) = CliRunner.Run("eval", "--model", CliRunner.TinySdar, "--data", file);
            Assert.NotEqual(0, code);
            Assert.Contains(file, error);
            Assert.Contains("2", error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
