using System.IO.Compression;
using Sdar.Checkpoints;
using Sdar.Model;
using Sdar.Tests.Checkpoints;
using Sdar.Training;
using Sdar.Training.Modeling;
using Sdar.Training.Plotting;

namespace Sdar.Tests.Training;

/// <summary>Model folders written by training: round trips, atomicity, and the loss plot.</summary>
public class CheckpointAndPlotTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Saved_folder_opens_in_the_engine_with_the_same_weights(DType dtype)
    {
        using var dir = new TempDir();
        using var model = TrainingTestModels.Model(TrainingTestModels.Config(moe: true), seed: 2);
        string output = Path.Combine(dir.Path, "model");
        ModelFolder.Save(model, output, dtype, new Sdar.Config.GenerationConfig { EosTokenIds = [62] }, TestFiles.Fixture("tiny-sdar"));
        using var checkpoint = Checkpoint.Open(output);
        Assert.Equal(model.Config.ModelType, checkpoint.Config.ModelType);
        Assert.Equal([62], checkpoint.GenerationConfig.EosTokenIds);
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.Equal(dtype, checkpoint.Weights.EmbedTokens.DType);
        var saved = ModelFolder.ToFloats(checkpoint.Weights.Layers[1].Moe!.Experts[2].UpProj);
        var original = model.model.layers[1].mlp is Qwen3SparseMoeBlock moe ? moe.experts[2].up_proj.weight!.data<float>().ToArray() : [];
        for (int i = 0; i < saved.Length; i++)
            Assert.Equal(dtype == DType.F32 ? original[i] : BitConverter.Int32BitsToSingle(ModelFolder.ToBFloat16(original[i]) << 16), saved[i]);
        using var reloaded = ModelFolder.Load(output);
        Assert.Equal(model.ParameterCount(), reloaded.ParameterCount());
    }

    [Fact]
    public void A_failed_write_leaves_the_previous_folder_and_no_partial_one()
    {
        using var dir = new TempDir();
        string target = Path.Combine(dir.Path, "ckpt");
        AtomicDirectory.Write(target, t => File.WriteAllText(Path.Combine(t, "a.txt"), "old"));
        Assert.Throws<IOException>(() => AtomicDirectory.Write(target, t =>
        {
            File.WriteAllText(Path.Combine(t, "a.txt"), "new");
            throw new IOException("disk full");
        }));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt")));
        Assert.Single(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void A_replaced_folder_whose_successor_never_arrived_is_restored()
    {
        using var dir = new TempDir();
        // The state a crash between the two renames would leave.
        Directory.CreateDirectory(Path.Combine(dir.Path, ".step-0000004.old-abc"));
        Directory.CreateDirectory(Path.Combine(dir.Path, ".step-0000006.tmp-def"));
        AtomicDirectory.RemoveStale(dir.Path);
        Assert.Equal(["step-0000004"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Loss_plot_is_a_valid_png_with_both_curves()
    {
        var train = Enumerable.Range(1, 100).Select(i => ((double)i, 5.0 / Math.Sqrt(i))).ToList();
        var eval = new List<(double, double)> { (25, 1.3), (50, 0.9), (100, 0.7) };
        byte[] png = LossPlot.Render(train, eval, 400, 300);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int at = 8;
        var idat = new MemoryStream();
        while (at < png.Length)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            uint crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(Crc32.Compute(png.AsSpan(at + 4, 4 + length)), crc);
            if (type == "IHDR")
            {
                Assert.Equal(400, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at + 8)));
                Assert.Equal(300, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at + 12)));
            }
            if (type == "IDAT") idat.Write(png, at + 8, length);
            at += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        var raw = inflated.ToArray();
        Assert.Equal(300 * (1 + 400 * 3), raw.Length);
        bool Has(byte r, byte g, byte b) => Enumerable.Range(0, 300).Any(y => Enumerable.Range(0, 400)
            .Any(x => raw[y * 1201 + 1 + 3 * x] == r && raw[y * 1201 + 2 + 3 * x] == g && raw[y * 1201 + 3 + 3 * x] == b));
        Assert.True(Has(31, 100, 180), "train curve");
        Assert.True(Has(230, 110, 20), "eval curve");
    }

    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }
}
