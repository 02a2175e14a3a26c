using SkiaSharp;
using Sdar.IO;
using Sdar.Checkpoints;
using Sdar.Model;
using Sdar.Tests.Checkpoints;
using Sdar.Tests.IO;
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
        // The state a crash between the two renames would leave (the writer's process is gone).
        int dead = OutputTestProcesses.DeadPid();
        Directory.CreateDirectory(Path.Combine(dir.Path, $".step-0000004.old-{dead}-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(Path.Combine(dir.Path, $".step-0000006.tmp-{dead}-{Guid.NewGuid():N}"));
        AtomicDirectory.RemoveStale(dir.Path);
        Assert.Equal(["step-0000004"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Loss_plot_is_a_png_of_the_requested_size_with_both_curves_and_text()
    {
        var train = Enumerable.Range(1, 100).Select(i => ((double)i, 5.0 / Math.Sqrt(i))).ToList();
        var eval = new List<(double, double)> { (25, 1.3), (50, 0.9), (100, 0.7) };
        byte[] png = LossPlot.Render(train, eval, 400, 300);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((400, 300), (bitmap.Width, bitmap.Height));
        var pixels = bitmap.Pixels;
        bool Near(SKColor p, ScottPlot.Color c) => Math.Abs(p.Red - c.R) + Math.Abs(p.Green - c.G) + Math.Abs(p.Blue - c.B) < 30;
        Assert.Contains(pixels, p => Near(p, LossPlot.TrainSmooth));
        Assert.Contains(pixels, p => Near(p, LossPlot.Eval));
        // Axis labels and tick numbers: dark glyph pixels below the plot area, where no curve is drawn.
        int darkBelow = Enumerable.Range(bitmap.Height - 40, 40).Sum(y => Enumerable.Range(0, bitmap.Width)
            .Count(x => bitmap.GetPixel(x, y) is var c && c.Red + c.Green + c.Blue < 200));
        Assert.True(darkBelow > 50, $"only {darkBelow} dark pixels where the x-axis label and ticks belong");
    }

    [Fact]
    public void The_bundled_font_has_glyphs_without_any_system_font()
    {
        BundledFont.Register();
        using var typeface = ScottPlot.Fonts.GetTypeface(BundledFont.Name, bold: false, italic: false);
        Assert.Equal(BundledFont.Name, typeface.FamilyName);
        Assert.True(typeface.GlyphCount > 1000, $"{typeface.GlyphCount} glyphs");
    }
}
