using System.CommandLine;
using System.Globalization;
using Sdar.Model;
using Sdar.Model.Kernels;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar info</c>: what a model folder holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption();
        var command = new Command("info", "Describe a model folder: architecture, parameter count, dtype, block size, special tokens.") { model };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            using var loaded = LoadedModel.Open(parse.GetValue(model)!);
            var c = loaded.Config;
            var w = loaded.Weights;
            var dtypes = w.AllTensors().GroupBy(t => t.DType).Select(g => $"{g.Key} ({g.Count()} tensors)");
            o.WriteLine($"folder:        {loaded.Directory}");
            o.WriteLine($"model_type:    {c.ModelType} ({(c.IsDiffusion ? "block diffusion (SDAR)" : "autoregressive")})");
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters:    {w.ParameterCount():N0} ({w.ParameterCount() / 1e9:F3} B)"));
            o.WriteLine($"dtype:         {string.Join(", ", dtypes)}");
            // What the quantized products will multiply, as --activations auto resolves it on this machine.
            var quantized = w.QuantizedFormats();
            if (quantized.Count > 0)
                o.WriteLine($"activations:   {string.Join(", ", quantized.Select(d => $"{d} weights multiply {(KernelSettings.Default.Int8ActivationsFor(d) ? "int8" : "float")} activations"))} (the default here; the commands that run a model take --activations int8|float)");
            o.WriteLine($"layers:        {c.NumHiddenLayers}, hidden {c.HiddenSize}, intermediate {c.IntermediateSize}");
            o.WriteLine($"attention:     {c.NumAttentionHeads} query heads, {c.NumKeyValueHeads} KV heads, head_dim {c.HeadDim}, rope_theta {c.RopeTheta.ToString(CultureInfo.InvariantCulture)}");
            if (c.IsMoe)
                o.WriteLine($"experts:       {c.NumExperts} ({c.NumExpertsPerTok} per token), moe_intermediate {c.MoeIntermediateSize}, norm_topk_prob {c.NormTopkProb}");
            o.WriteLine($"vocab:         {c.VocabSize} (tokenizer: {loaded.Tokenizer.VocabSize}), tied embeddings: {c.TieWordEmbeddings}");
            if (c.IsDiffusion)
                o.WriteLine($"block_size:    {c.BlockSize}, mask token: {c.MaskTokenId} {Describe(loaded, c.MaskTokenId)}");
            o.WriteLine($"stop tokens:   {string.Join(", ", loaded.StopTokenIds.Select(id => $"{id} {Describe(loaded, id)}"))}");
            var special = loaded.Tokenizer.AddedTokens.Where(t => t.Special).Select(t => $"{t.Content}={t.Id}");
            o.WriteLine($"special:       {string.Join(" ", special)}");
            o.WriteLine($"chat template: {(loaded.Tokenizer.ChatTemplate is null ? "none" : "yes")}");
            return 0;
        });
        return command;
    }

    private static string Describe(LoadedModel loaded, int? id) =>
        id is { } value && loaded.Tokenizer.IdToToken(value) is { } token ? $"({token})" : "";
}
