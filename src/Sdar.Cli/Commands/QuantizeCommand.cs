using System.CommandLine;
using System.Globalization;
using Sdar.Checkpoints;
using Sdar.Model;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar quantize</c>: a model folder with its Linear weights in group-wise int8 or 4-bit.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption();
        var output = new Option<string>("--out", "-o") { Description = "The folder to write (replaced atomically; tokenizer and other files are copied).", Required = true, HelpName = "DIR" };
        var format = new Option<DType>("--format")
        {
            Description = "q8: int8, or q4: 4-bit, one fp16 scale per 32 inputs (ggml Q8_0 / Q4_0 arithmetic); embeddings and norms keep their precision.",
            HelpName = "q8|q4",
            Required = true,
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                try
                {
                    return CheckpointQuantizer.ParseFormat(text);
                }
                catch (ArgumentException e)
                {
                    result.AddError(e.Message);
                    return default;
                }
            },
        };
        var command = new Command("quantize", "Write a copy of a model with group-quantized Linear weights (NAME.qweight + NAME.scales, quantization_config in config.json).")
        {
            model, output, format,
        };
        command.SetAction(parse =>
        {
            var result = CheckpointQuantizer.QuantizeFolder(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(format));
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {result.Directory}: {result.QuantizedTensors} matrices in {result.Format.ToString().ToLowerInvariant()}, weights {result.BytesBefore / 1e6:F1} MB -> {result.BytesAfter / 1e6:F1} MB"));
            return 0;
        });
        return command;
    }
}
