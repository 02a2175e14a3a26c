using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Bench;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar bench kernels</c>: one matrix product in every weight format and activation kind, side by side.</summary>
internal static class KernelBenchCommand
{
    public static Command Create()
    {
        var n = new Option<int>("--n") { Description = "Output features N of the matrix (its rows).", DefaultValueFactory = _ => 12288, HelpName = "N" };
        n.Integer(1, 1 << 20);
        var k = new Option<int>("--k") { Description = "Input features K (a multiple of 32).", DefaultValueFactory = _ => 2048, HelpName = "K" };
        k.Integer(32, 1 << 20);
        var tokens = CliParsing.IntListOption("--tokens", "Activation rows T per product, comma-separated.", "LIST", minimum: 1, [1, 4, 16], maximum: 4096);
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds (the median is reported).", DefaultValueFactory = _ => 7, HelpName = "N" };
        rounds.Integer(1, 10_000);
        var kernelFlags = new KernelFlags();
        var json = new Option<bool>("--json") { Description = "Print one JSON object per case: tokens, weights, activations, ms, weight_gb_per_s, ratio_to_bf16." };
        var command = new Command("kernels", "One product y = x W^T (T x K times N x K) in BF16, Q8_0 and Q4_0 weights, on int8 and float activations, alternating within each round, the weights coming from memory (copies cycled past the caches): ms, weight GB/s and the ratio to BF16.")
        {
            n, k, tokens, rounds, json,
        };
        kernelFlags.AddTo(command);
        command.SetAction(parse =>
        {
            int columns = parse.GetValue(k);
            CliParsing.Require(columns % 32 == 0, $"--k: expected a multiple of 32 (the quantization group); got {columns}");
            var output = parse.InvocationConfiguration.Output;
            var kernels = kernelFlags.Read(parse);
            var results = KernelBenchmark.Run(parse.GetValue(n), columns, parse.GetValue(tokens)!, parse.GetValue(rounds), kernels,
                progress: parse.InvocationConfiguration.Error.WriteLine);
            if (parse.GetValue(json))
            {
                foreach (var r in results)
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        tokens = r.Tokens, weights = r.Weights, activations = r.Activations, ms = Math.Round(r.Ms, 4),
                        weight_gb_per_s = Math.Round(r.WeightGbPerS, 2), ratio_to_bf16 = Math.Round(r.RatioToBf16, 3),
                    }));
                return 0;
            }
            output.WriteLine($"y = x W^T, W {parse.GetValue(n)} x {columns}, {kernels.Threads} threads, median of {parse.GetValue(rounds)} alternating rounds");
            output.WriteLine("   T  weights  activations        ms  weight GB/s  / bf16");
            foreach (var r in results)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Tokens,4}  {r.Weights,7}  {r.Activations,11}  {r.Ms,8:F3}  {r.WeightGbPerS,11:F1}  {r.RatioToBf16,6:F2}"));
            return 0;
        });
        return command;
    }
}
