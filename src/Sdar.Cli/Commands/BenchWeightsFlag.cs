using System.CommandLine;
using Sdar.Model;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>--weights bf16|q8|q4</c> of the bench verbs: the format of the random <c>--shape</c> model. A model folder runs
/// in the format it is stored in, so a quantized folder (<c>sdar quantize</c>) is benchmarked with <c>--model</c>.
/// </summary>
internal sealed class BenchWeightsFlag
{
    private readonly Option<DType> _weights = new("--weights")
    {
        Description = "--shape: the random model's weights, bf16, or quantized from them to q8 (int8) or q4 (4-bit) as sdar quantize does. A quantized folder is benchmarked with --model.",
        HelpName = "bf16|q8|q4",
        DefaultValueFactory = _ => DType.BF16,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return DType.BF16;
            string text = result.Tokens[^1].Value;
            try
            {
                return WeightFormatNames.Parse(text, "--weights");
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
                return default;
            }
        },
    };

    public void AddTo(Command command) => command.Add(_weights);

    /// <summary>The format for a random model; an error when it was given with a model folder, whose weights are used as stored.</summary>
    public DType Read(ParseResult parse, bool randomModel)
    {
        CliParsing.Require(randomModel || !parse.Given(_weights),
            "--weights applies to --shape; --model runs the folder's weights as stored (write a quantized folder with sdar quantize and pass it as --model)");
        return parse.GetValue(_weights);
    }
}
