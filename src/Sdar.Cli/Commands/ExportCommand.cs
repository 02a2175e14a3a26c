using System.CommandLine;
using System.Globalization;
using Sdar.Export;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar export gguf</c>: a model folder as one GGUF file for llama.cpp, Ollama and LLamaSharp.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "Write a model in another format.");
        command.Add(Gguf());
        return command;
    }

    private static Command Gguf()
    {
        var model = CliParsing.ModelOption();
        var output = new Option<string>("--out", "-o") { Description = "The .gguf file to write (replaced atomically).", Required = true, HelpName = "FILE" };
        var type = new Option<GgufOutputType?>("--type")
        {
            Description = "Element type of the matrices: f32, bf16, q8_0 or q4_0 (norm weights stay f32). Default: bf16, or for a folder written by sdar quantize its own q8_0 / q4_0 (re-packed losslessly).",
            HelpName = "f32|bf16|q8_0|q4_0",
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                try
                {
                    return GgufExporter.ParseType(text);
                }
                catch (ArgumentException e)
                {
                    result.AddError(e.Message);
                    return default;
                }
            },
        };
        var command = new Command("gguf", "Export a dense qwen3 or sdar model to GGUF v3 (llama.cpp's qwen3 architecture, tokenizer and chat template included).")
        {
            model, output, type,
        };
        command.SetAction(parse =>
        {
            var result = GgufExporter.ExportFolder(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(type));
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {result.Path}: {result.TensorCount} tensors, {result.Parameters / 1e6:F1} M parameters, {result.Type.ToString().ToLowerInvariant()}, {result.Bytes / 1e6:F1} MB"));
            return 0;
        });
        return command;
    }
}
