using System.Buffers.Binary;
using Sdar.Export;
using Sdar.Tests.Checkpoints;

namespace Sdar.Tests.Export;

public class GgufFormatTests
{
    public class Q8_0Quantization
    {
        [Fact]
        public void Scales_by_the_block_maximum_and_rounds_halves_away_from_zero_as_ggml()
        {
            var x = new float[32];
            x[0] = 127f;                 // d = 1, so q = round(x)
            x[1] = 2.5f; x[2] = -2.5f;   // roundf: 3 and -3 (round-to-even would give 2 and -2)
            x[3] = 0.5f; x[4] = -0.5f;
            x[5] = 0.49f; x[6] = -126.6f;
            var block = new byte[34];
            GgmlQuantization.QuantizeQ8_0(x, block);
            Assert.Equal((Half)1f, BinaryPrimitives.ReadHalfLittleEndian(block));
            Assert.Equal(new sbyte[] { 127, 3, -3, 1, -1, 0, -127 }, block[2..9].Select(b => (sbyte)b).ToArray());
            Assert.All(block[9..], b => Assert.Equal(0, b));
        }

        [Fact]
        public void Multiplies_by_the_reciprocal_of_the_fp32_scale_and_stores_the_scale_as_fp16()
        {
            var random = new Random(5);
            var x = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.05f).ToArray();
            var blocks = new byte[68];
            GgmlQuantization.QuantizeQ8_0(x, blocks);
            for (int b = 0; b < 2; b++)
            {
                float amax = x.AsSpan(b * 32, 32).ToArray().Max(MathF.Abs);
                float d = amax / 127f, id = 1f / d;
                Assert.Equal((Half)d, BinaryPrimitives.ReadHalfLittleEndian(blocks.AsSpan(b * 34)));
                for (int j = 0; j < 32; j++)
                    Assert.Equal((sbyte)MathF.Round(x[b * 32 + j] * id, MidpointRounding.AwayFromZero), (sbyte)blocks[b * 34 + 2 + j]);
            }
        }

        [Fact]
        public void An_all_zero_block_has_scale_and_values_zero()
        {
            var block = new byte[34];
            block.AsSpan().Fill(0xFF);
            GgmlQuantization.QuantizeQ8_0(new float[32], block);
            Assert.All(block, b => Assert.Equal(0, b));
            var back = new float[32];
            GgmlQuantization.DequantizeQ8_0(block, back);
            Assert.All(back, v => Assert.Equal(0f, v));
        }

        [Fact]
        public void Refuses_a_length_that_is_not_whole_blocks()
        {
            var e = Assert.Throws<ArgumentException>(() => GgmlQuantization.QuantizeQ8_0(new float[33], new byte[68]));
            Assert.Contains("whole blocks of 32", e.Message);
        }
    }

    public class Container : IDisposable
    {
        private readonly TempDir _temp = new();

        public void Dispose()
        {
            _temp.Dispose();
            GC.SuppressFinalize(this);
        }

        private string WriteSample(int alignment = 32)
        {
            var writer = new GgufWriter(alignment);
            writer.Add("general.architecture", GgufValue.String("qwen3"));
            writer.Add("x.count", GgufValue.UInt32(7));
            writer.Add("x.flag", GgufValue.Bool(true));
            writer.Add("x.names", GgufValue.Strings(["a", "β", ""]));
            writer.Add("x.ids", GgufValue.Int32s([1, -2, 3]));
            writer.AddTensor(new GgufTensorEntry("three", GgmlType.F32, [3], s => s.Write(new byte[12])));
            writer.AddTensor(new GgufTensorEntry("matrix", GgmlType.F32, [2, 3], s =>
            {
                foreach (float v in new[] { 1f, 2f, 3f, 4f, 5f, 6f }) s.Write(BitConverter.GetBytes(v));
            }));
            string path = _temp.File("sample.gguf");
            using (var stream = File.Create(path)) writer.WriteTo(stream);
            return path;
        }

        [Fact]
        public void Round_trips_metadata_and_aligned_tensors()
        {
            var gguf = GgufReader.Open(WriteSample());
            Assert.Equal("qwen3", gguf.Get<string>("general.architecture"));
            Assert.Equal(7u, gguf.Get<uint>("x.count"));
            Assert.True(gguf.Get<bool>("x.flag"));
            Assert.Equal(["a", "β", ""], gguf.Get<string[]>("x.names"));
            Assert.Equal([1, -2, 3], gguf.Get<int[]>("x.ids"));
            Assert.Equal([2L, 3L], gguf.Tensor("matrix").Dimensions);
            Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], gguf.ReadFloats("matrix"));
            Assert.Equal(0, gguf.Tensor("matrix").FileOffset % 32);
            Assert.Equal(gguf.Tensor("three").FileOffset + 32, gguf.Tensor("matrix").FileOffset);   // 12 bytes padded to 32
        }

        [Fact]
        public void A_non_default_alignment_is_written_and_honoured()
        {
            var gguf = GgufReader.Open(WriteSample(alignment: 64));
            Assert.Equal(64u, gguf.Get<uint>("general.alignment"));
            Assert.All(gguf.Tensors, t => Assert.Equal(0, t.FileOffset % 64));
            Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], gguf.ReadFloats("matrix"));
        }

        [Fact]
        public void A_callback_writing_the_wrong_byte_count_is_an_error_naming_the_tensor()
        {
            var writer = new GgufWriter();
            writer.AddTensor(new GgufTensorEntry("short", GgmlType.F32, [4], s => s.Write(new byte[12])));
            var e = Assert.Throws<InvalidOperationException>(() => writer.WriteTo(new MemoryStream()));
            Assert.Contains("'short': 12 bytes written, 16 expected", e.Message);
        }

        [Fact]
        public void A_truncated_file_or_a_foreign_file_is_refused_naming_it()
        {
            string path = WriteSample();
            byte[] bytes = File.ReadAllBytes(path);
            string truncated = _temp.File("truncated.gguf");
            File.WriteAllBytes(truncated, bytes[..^20]);   // into the last tensor's data, past its padding
            var e = Assert.Throws<CheckpointException>(() => GgufReader.Open(truncated));
            Assert.Contains(truncated, e.Message);
            Assert.Contains("truncated", e.Message);

            string header = _temp.File("header.gguf");
            File.WriteAllBytes(header, bytes[..40]);
            Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => GgufReader.Open(header)).Message);

            string foreign = _temp.File("foreign.gguf");
            File.WriteAllBytes(foreign, [(byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0]);
            Assert.Contains("not a GGUF file", Assert.Throws<CheckpointException>(() => GgufReader.Open(foreign)).Message);
        }
    }
}
