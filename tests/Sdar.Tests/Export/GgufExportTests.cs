using Sdar.Checkpoints;
using Sdar.Cli;
using Sdar.Export;
using Sdar.Model;
using Sdar.Runtime;
using Sdar.Tests.Checkpoints;
using Sdar.Tests.Cli;
using Sdar.Tokenization;

namespace Sdar.Tests.Export;

/// <summary>Exports written by <see cref="GgufExporter"/>, read back with <see cref="GgufReader"/>.</summary>
public abstract class GgufExportTests : IDisposable
{
    private protected readonly TempDir _temp = new();

    public void Dispose()
    {
        _temp.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected static string BundledAr => BundledModels.Locate(BundledModels.ParentName);

    private protected GgufReader Export(string modelDir, GgufOutputType type)
    {
        string path = _temp.File($"{Path.GetFileName(modelDir)}-{type}.gguf");
        GgufExporter.ExportFolder(modelDir, path, type);
        return GgufReader.Open(path);
    }

    public class Metadata : GgufExportTests
    {
        [Fact]
        public void Holds_llama_cpps_qwen3_hyper_parameters_from_config_json()
        {
            var gguf = Export(BundledAr, GgufOutputType.F32);
            using var checkpoint = Checkpoint.Open(BundledAr);
            var c = checkpoint.Config;
            Assert.Equal(3u, gguf.Version);
            Assert.Equal(32, gguf.Alignment);
            Assert.Equal("qwen3", gguf.Get<string>("general.architecture"));
            Assert.Equal(0u, gguf.Get<uint>("general.file_type"));
            Assert.Equal((uint)c.NumHiddenLayers, gguf.Get<uint>("qwen3.block_count"));
            Assert.Equal((uint)c.MaxPositionEmbeddings, gguf.Get<uint>("qwen3.context_length"));
            Assert.Equal((uint)c.HiddenSize, gguf.Get<uint>("qwen3.embedding_length"));
            Assert.Equal((uint)c.IntermediateSize, gguf.Get<uint>("qwen3.feed_forward_length"));
            Assert.Equal((uint)c.NumAttentionHeads, gguf.Get<uint>("qwen3.attention.head_count"));
            Assert.Equal((uint)c.NumKeyValueHeads, gguf.Get<uint>("qwen3.attention.head_count_kv"));
            Assert.Equal((uint)c.HeadDim, gguf.Get<uint>("qwen3.attention.key_length"));
            Assert.Equal((uint)c.HeadDim, gguf.Get<uint>("qwen3.attention.value_length"));
            Assert.Equal((float)c.RopeTheta, gguf.Get<float>("qwen3.rope.freq_base"));
            Assert.Equal((float)c.RmsNormEps, gguf.Get<float>("qwen3.attention.layer_norm_rms_epsilon"));
            Assert.False(gguf.Metadata.ContainsKey("sdar.block_size"));
        }

        [Fact]
        public void Holds_the_tokenizer_as_llama_cpps_converter_lays_it_out()
        {
            var gguf = Export(BundledAr, GgufOutputType.F32);
            var tokenizer = HfTokenizer.Load(Path.Combine(BundledAr, "tokenizer.json"));
            Assert.Equal("gpt2", gguf.Get<string>("tokenizer.ggml.model"));
            Assert.Equal("qwen2", gguf.Get<string>("tokenizer.ggml.pre"));
            var tokens = gguf.Get<string[]>("tokenizer.ggml.tokens");
            var types = gguf.Get<int[]>("tokenizer.ggml.token_type");
            Assert.Equal(1024, tokens.Length);   // config.json vocab_size, not the tokenizer's 988
            Assert.Equal(1024, types.Length);
            for (int id = 0; id < 982; id++)
            {
                Assert.Equal(tokenizer.IdToToken(id), tokens[id]);
                Assert.Equal((int)GgufTokenType.Normal, types[id]);
            }
            Assert.Equal(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|MASK|>"], tokens[982..988]);
            Assert.All(types[982..988], t => Assert.Equal((int)GgufTokenType.Control, t));   // all marked special in tokenizer.json
            Assert.Equal("[PAD988]", tokens[988]);
            Assert.All(types[988..], t => Assert.Equal((int)GgufTokenType.Unused, t));

            var merges = gguf.Get<string[]>("tokenizer.ggml.merges");
            Assert.Equal(726, merges.Length);
            Assert.Equal("h e", merges[0]);
            Assert.Equal(984u, gguf.Get<uint>("tokenizer.ggml.eos_token_id"));       // tokenizer_config eos_token <|im_end|>
            Assert.Equal(982u, gguf.Get<uint>("tokenizer.ggml.padding_token_id"));   // tokenizer_config pad_token <|endoftext|>
            Assert.False(gguf.Metadata.ContainsKey("tokenizer.ggml.bos_token_id"));  // bos_token null, no bos_token_id
            Assert.False(gguf.Get<bool>("tokenizer.ggml.add_bos_token"));
            Assert.Equal(tokenizer.ChatTemplate, gguf.Get<string>("tokenizer.chat_template"));
        }

        [Fact]
        public void An_sdar_model_exports_with_its_block_size_and_mask_id_beside_the_qwen3_keys()
        {
            var gguf = Export(CliRunner.TinySdar, GgufOutputType.BF16);
            Assert.Equal("qwen3", gguf.Get<string>("general.architecture"));
            Assert.Equal(32u, gguf.Get<uint>("general.file_type"));
            Assert.Equal(4u, gguf.Get<uint>("sdar.block_size"));
            Assert.Equal(511u, gguf.Get<uint>("sdar.mask_token_id"));
        }
    }

    public class Tensors : GgufExportTests
    {
        [Fact]
        public void Carry_llama_cpps_names_with_dimensions_innermost_first_and_no_output_for_tied_embeddings()
        {
            var gguf = Export(BundledAr, GgufOutputType.F32);
            using var checkpoint = Checkpoint.Open(BundledAr);
            var c = checkpoint.Config;
            Assert.Equal(1 + 11 * c.NumHiddenLayers + 1, gguf.Tensors.Count);
            Assert.False(gguf.HasTensor("output.weight"));
            Assert.Equal([c.HiddenSize, c.VocabSize], gguf.Tensor("token_embd.weight").Dimensions);
            Assert.Equal([c.HiddenSize], gguf.Tensor("output_norm.weight").Dimensions);
            var q = gguf.Tensor("blk.0.attn_q.weight");
            Assert.Equal([c.HiddenSize, c.NumAttentionHeads * c.HeadDim], q.Dimensions);
            Assert.Equal([c.HiddenSize, c.NumKeyValueHeads * c.HeadDim], gguf.Tensor("blk.5.attn_k.weight").Dimensions);
            Assert.Equal([c.NumAttentionHeads * c.HeadDim, c.HiddenSize], gguf.Tensor("blk.5.attn_output.weight").Dimensions);
            Assert.Equal([c.HeadDim], gguf.Tensor("blk.3.attn_q_norm.weight").Dimensions);
            Assert.Equal([c.HiddenSize, c.IntermediateSize], gguf.Tensor("blk.2.ffn_gate.weight").Dimensions);
            Assert.Equal([c.IntermediateSize, c.HiddenSize], gguf.Tensor("blk.2.ffn_down.weight").Dimensions);
            Assert.All(gguf.Tensors, t => Assert.Equal(0, t.FileOffset % 32));
        }

        [Fact]
        public void An_untied_model_writes_its_lm_head_as_output()
        {
            var gguf = Export(CliRunner.TinyQwen3, GgufOutputType.F32);
            using var checkpoint = Checkpoint.Open(CliRunner.TinyQwen3);
            Assert.Equal(checkpoint.Weights.LmHead.ToFloatArray(), gguf.ReadFloats("output.weight"));
        }

        [Fact]
        public void F32_export_equals_the_source_weights()
        {
            var gguf = Export(BundledAr, GgufOutputType.F32);
            using var checkpoint = Checkpoint.Open(BundledAr);
            foreach (var (name, tensor) in GgufExporter.TensorNames(checkpoint.Weights))
            {
                Assert.Equal(GgmlType.F32, gguf.Tensor(name).Type);
                Assert.Equal(tensor.ToFloatArray(), gguf.ReadFloats(name));
            }
        }

        [Fact]
        public unsafe void Bf16_export_of_a_bf16_checkpoint_is_its_bytes_and_norms_are_f32()
        {
            var gguf = Export(BundledAr, GgufOutputType.BF16);
            using var checkpoint = Checkpoint.Open(BundledAr);
            foreach (var (name, tensor) in GgufExporter.TensorNames(checkpoint.Weights))
            {
                Assert.Equal(DType.BF16, tensor.DType);
                var info = gguf.Tensor(name);
                if (tensor.Shape.Count == 1)
                {
                    Assert.Equal(GgmlType.F32, info.Type);
                    Assert.Equal(tensor.ToFloatArray(), gguf.ReadFloats(name));
                }
                else
                {
                    Assert.Equal(GgmlType.BF16, info.Type);
                    Assert.Equal(new ReadOnlySpan<byte>(tensor.Data, (int)tensor.ByteLength).ToArray(), gguf.ReadBytes(name));
                }
            }
        }

        [Fact]
        public void Q8_0_export_dequantizes_to_within_half_a_step_of_the_source_and_norms_stay_f32()
        {
            var gguf = Export(BundledAr, GgufOutputType.Q8_0);
            Assert.Equal(7u, gguf.Get<uint>("general.file_type"));
            using var checkpoint = Checkpoint.Open(BundledAr);
            foreach (var (name, tensor) in GgufExporter.TensorNames(checkpoint.Weights))
            {
                var info = gguf.Tensor(name);
                float[] source = tensor.ToFloatArray(), read = gguf.ReadFloats(name);
                if (tensor.Shape.Count == 1)
                {
                    Assert.Equal(GgmlType.F32, info.Type);
                    Assert.Equal(source, read);
                    continue;
                }
                Assert.Equal(GgmlType.Q8_0, info.Type);
                Assert.Equal(info.ElementCount / 32 * 34, info.ByteLength);
                for (int b = 0; b < source.Length / 32; b++)
                {
                    // Half a quantization step, plus up to 127 times the fp16 rounding of the step itself.
                    float step = source.AsSpan(b * 32, 32).ToArray().Max(MathF.Abs) / 127f;
                    float tolerance = 0.5f * step + 127f * MathF.Abs(step - (float)(Half)step) + 1e-7f;
                    for (int j = b * 32; j < b * 32 + 32; j++)
                        Assert.True(MathF.Abs(source[j] - read[j]) <= tolerance, $"{name}[{j}]: {source[j]} read back as {read[j]} (step {step})");
                }
            }
        }
    }

    public class Q4 : GgufExportTests
    {
        [Fact]
        public void Q4_0_blocks_hold_the_scale_then_input_j_in_the_low_nibble_and_j_plus_16_in_the_high_one()
        {
            // The value of largest magnitude is -8, so d = -8 / -8 = 1 and each integer x maps to nibble x + 8.
            float[] x = [.. Enumerable.Range(0, 16).Select(j => j - 8f), .. Enumerable.Range(0, 16).Select(j => 7f - j)];
            var block = new byte[GgufFormat.Q4BlockBytes];
            GgmlQuantization.QuantizeQ4_0(x, block);
            Assert.Equal(18, block.Length);
            Assert.Equal((byte[])[0x00, 0x3C], block[..2]);   // fp16 1.0
            for (int j = 0; j < 16; j++) Assert.Equal((byte)(j | ((15 - j) << 4)), block[2 + j]);
            var back = new float[32];
            GgmlQuantization.DequantizeQ4_0(block, back);
            Assert.Equal(x, back);

            // A positive extreme gives a negative scale (d = 4 / -8): 4 maps to nibble 0, and -4 would be 16, clamped to 15.
            float[] y = [4f, -4f, .. new float[30]];
            GgmlQuantization.QuantizeQ4_0(y, block);
            Assert.Equal(-0.5, (double)BitConverter.ToHalf(block, 0));
            Assert.Equal(0x80, block[2]);   // input 0 -> 0, input 16 (0) -> 8
            Assert.Equal(0x8F, block[3]);   // input 1 (-4) -> 15, input 17 (0) -> 8
        }

        [Fact]
        public void Q4_0_export_dequantizes_to_within_half_a_step_of_the_source_and_norms_stay_f32()
        {
            var gguf = Export(BundledAr, GgufOutputType.Q4_0);
            Assert.Equal(2u, gguf.Get<uint>("general.file_type"));
            using var checkpoint = Checkpoint.Open(BundledAr);
            foreach (var (name, tensor) in GgufExporter.TensorNames(checkpoint.Weights))
            {
                var info = gguf.Tensor(name);
                float[] source = tensor.ToFloatArray(), read = gguf.ReadFloats(name);
                if (tensor.Shape.Count == 1)
                {
                    Assert.Equal(GgmlType.F32, info.Type);
                    Assert.Equal(source, read);
                    continue;
                }
                Assert.Equal(GgmlType.Q4_0, info.Type);
                Assert.Equal(info.ElementCount / 32 * 18, info.ByteLength);
                for (int b = 0; b < source.Length / 32; b++)
                {
                    // Steps of max|x| / 8; half a step, plus up to 8 times the fp16 rounding of the step itself. The
                    // extreme maps to -8 and the opposite end of the range stops at +7 steps (ggml's clamp to 15), so a
                    // value beyond 7.5 steps of the other sign may be off by up to a whole step.
                    float step = source.AsSpan(b * 32, 32).ToArray().Max(MathF.Abs) / 8f;
                    float rounding = 8f * MathF.Abs(step - (float)(Half)step) + 1e-7f;
                    for (int j = b * 32; j < b * 32 + 32; j++)
                    {
                        float tolerance = (MathF.Abs(source[j]) > 7.5f * step ? step : 0.5f * step) + rounding;
                        Assert.True(MathF.Abs(source[j] - read[j]) <= tolerance, $"{name}[{j}]: {source[j]} read back as {read[j]} (step {step})");
                    }
                }
            }
        }
    }

    /// <summary>A folder written by <c>sdar quantize</c> exports its packed weights as they are.</summary>
    public class QuantizedFolders : GgufExportTests
    {
        private string Quantize(string format)
        {
            string folder = _temp.File($"quantized-{format}");
            CheckpointQuantizer.QuantizeFolder(BundledAr, folder, CheckpointQuantizer.ParseFormat(format));
            return folder;
        }

        [Theory]
        [InlineData("q8", GgufOutputType.Q8_0, GgmlType.Q8_0, 7u)]
        [InlineData("q4", GgufOutputType.Q4_0, GgmlType.Q4_0, 2u)]
        public void Re_packs_its_own_format_losslessly_by_default_with_the_embeddings_in_their_precision(string format, GgufOutputType type,
            GgmlType ggml, uint fileType)
        {
            string folder = Quantize(format);
            string path = _temp.File($"repacked-{format}.gguf");
            var result = GgufExporter.ExportFolder(folder, path, type: null);
            Assert.Equal(type, result.Type);
            var repacked = GgufReader.Open(path);
            Assert.Equal(fileType, repacked.Get<uint>("general.file_type"));
            // The same bytes as quantizing the BF16 model straight to GGUF: ggml's arithmetic, only interleaved.
            var direct = Export(BundledAr, type);
            using var original = Checkpoint.Open(BundledAr);
            foreach (var (name, tensor) in GgufExporter.TensorNames(original.Weights))
            {
                if (tensor.Shape.Count == 1 || name == "token_embd.weight") continue;
                Assert.Equal(ggml, repacked.Tensor(name).Type);
                Assert.Equal(direct.ReadBytes(name), repacked.ReadBytes(name));
            }
            // The tied head is a quantized copy of the embeddings, which stay BF16 as Sdar runs them.
            Assert.Equal(GgmlType.BF16, repacked.Tensor("token_embd.weight").Type);
            Assert.Equal(Export(BundledAr, GgufOutputType.BF16).ReadBytes("token_embd.weight"), repacked.ReadBytes("token_embd.weight"));
            Assert.Equal(direct.ReadBytes("token_embd.weight"), repacked.ReadBytes("output.weight"));
        }

        [Fact]
        public void F32_export_is_the_exactly_dequantized_weights()
        {
            string folder = Quantize("q4");
            var gguf = Export(folder, GgufOutputType.F32);
            using var checkpoint = Checkpoint.Open(folder);
            Assert.Equal(DType.Q4_0, checkpoint.Weights.Layers[0].Mlp!.UpProj.DType);
            foreach (var (name, tensor) in GgufExporter.TensorNames(checkpoint.Weights))
            {
                Assert.Equal(GgmlType.F32, gguf.Tensor(name).Type);
                Assert.Equal(tensor.ToFloatArray(), gguf.ReadFloats(name));
            }
        }

        [Theory]
        [InlineData("q4", "bf16")]
        [InlineData("q4", "q8_0")]
        [InlineData("q8", "q4_0")]
        public void Another_type_is_refused_naming_the_folder_and_the_types_it_exports_as(string format, string type)
        {
            string folder = Quantize(format);
            string output = _temp.File("refused.gguf");
            var (code, _, error) = CliRunner.Run("export", "gguf", "--model", folder, "--out", output, "--type", type);
            Assert.Equal(SdarCli.ExitBadInput, code);
            Assert.Contains(folder, error, StringComparison.Ordinal);
            Assert.Contains($"--type {type}:", error, StringComparison.Ordinal);
            Assert.Contains($"already quantized to {format}_0", error, StringComparison.Ordinal);
            Assert.Contains($"--type {format}_0 (its packed weights, losslessly) or f32", error, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
        }
    }

    public class Errors : GgufExportTests
    {
        [Fact]
        public void A_moe_model_is_refused_naming_its_model_type()
        {
            var weights = RandomModel.Create(ModelShapes.Tiny(moe: true), DType.F32, seed: 3);
            var vocabulary = new GgufVocabulary(Enumerable.Range(0, 512).Select(i => $"t{i}").ToArray(), new int[512], [], null, null, null, false, null);
            var e = Assert.Throws<CheckpointException>(() => GgufExporter.Export(weights, vocabulary, "moe", _temp.File("moe.gguf"), GgufOutputType.F32));
            Assert.Contains("model_type 'sdar_moe' cannot be exported to GGUF", e.Message);
            Assert.False(File.Exists(_temp.File("moe.gguf")));
        }

        [Fact]
        public void A_model_folder_without_tokenizer_json_is_refused_naming_the_file()
        {
            string folder = _temp.File("no-tokenizer");
            Directory.CreateDirectory(folder);
            foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors" })
                File.Copy(Path.Combine(CliRunner.TinyQwen3, file), Path.Combine(folder, file));
            var e = Assert.Throws<CheckpointException>(() => GgufExporter.ExportFolder(folder, _temp.File("x.gguf"), GgufOutputType.F32));
            Assert.Contains(Path.Combine(folder, "tokenizer.json"), e.Message);
            Assert.False(File.Exists(_temp.File("x.gguf")));
        }

        [Fact]
        public void Cli_exports_and_names_bad_flags_and_folders()
        {
            string output = _temp.File("cli.gguf");
            var (code, stdout, _) = CliRunner.Run("export", "gguf", "--model", CliRunner.TinyQwen3, "--out", output, "--type", "q8_0");
            Assert.Equal(0, code);
            Assert.Contains("q8_0", stdout);
            Assert.Equal("qwen3", GgufReader.Open(output).Get<string>("general.architecture"));
            Assert.Empty(Directory.GetFiles(_temp.Path, ".cli.gguf.tmp*"));

            var (badType, _, error) = CliRunner.Run("export", "gguf", "--model", CliRunner.TinyQwen3, "--out", output, "--type", "q4_k");
            Assert.Equal(SdarCli.ExitBadInput, badType);
            Assert.Contains("--type: expected f32, bf16, q8_0 or q4_0; got 'q4_k'", error);

            var (missing, _, missingError) = CliRunner.Run("export", "gguf", "--model", _temp.File("nothing-here"), "--out", output);
            Assert.Equal(SdarCli.ExitBadInput, missing);
            Assert.Contains("model folder not found", missingError);

            var (folderOut, _, folderError) = CliRunner.Run("export", "gguf", "--model", CliRunner.TinyQwen3, "--out", _temp.Path);
            Assert.Equal(SdarCli.ExitBadInput, folderOut);
            Assert.Contains("--out", folderError);
        }
    }
}
