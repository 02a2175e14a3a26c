using Sdar.Checkpoints;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Server;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Serving;

/// <summary>
/// <c>sdar bench serve</c>'s measurement: the HTTP clients and the engine alone must do the same work, or the
/// comparison says nothing. (No timing is asserted; the benchmark prints its numbers.)
/// </summary>
public sealed class ServerBenchmarkTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 24, Temperature = 0 };

    [Fact]
    public async Task Over_http_the_bundled_model_generates_exactly_the_tokens_the_engine_does_alone()
    {
        var model = LoadedModel.Open(BundledModels.Locate());
        int[][] prompts = [.. new[] { "What is 2 + 3?", "Tom has 4 apples and buys 5 more. How many now?", "Hi" }.Select(q => model.EncodePrompt(q, chat: true))];
        await using var bench = new ServerBenchmark(model, prompts, Greedy, new EngineOptions(), threads: 2);
        foreach (int concurrency in new[] { 1, 2 })
        {
            var result = await bench.RunAsync(concurrency, requests: 4, rounds: 2);
            Assert.Equal(4, result.Requests);
            Assert.Equal(result.Engine.GeneratedTokens, result.GeneratedTokens);
            Assert.True(result.TimeToFirstTextMsMean <= result.LatencyMsMean);
        }
    }

    [Fact]
    public async Task A_random_model_of_a_shape_serves_with_a_borrowed_tokenizer_and_runs_every_answer_to_its_length()
    {
        var model = LoadedModel.WithRandomWeights(ModelShapes.Tiny(), "random-tiny", CliRunner.TinySdar);
        Assert.Equal("random-tiny", model.Name);
        Assert.Empty(model.StopTokenIds);
        int[][] prompts = [[1, 2, 3, 4, 5], [9, 8, 7]];
        await using var bench = new ServerBenchmark(model, prompts, Greedy with { MaxNewTokens = 16 }, new EngineOptions(), threads: 2);
        var result = await bench.RunAsync(2, requests: 4);
        Assert.Equal(4 * 16, result.GeneratedTokens);
        Assert.Equal(4 * 16, result.Engine.GeneratedTokens);
    }

    [Fact]
    public void Options_the_api_cannot_carry_are_refused()
    {
        using var model = LoadedModel.Open(BundledModels.Locate());
        Assert.Throws<ArgumentException>(() => new ServerBenchmark(model, [[1, 2]], Greedy with { IgnoreEos = true }, new EngineOptions(), 2));
        Assert.Throws<ArgumentException>(() => new ServerBenchmark(model, [[1, 2]], Greedy with { StopStrings = ["x"] }, new EngineOptions(), 2));
    }
}
