using Microsoft.Extensions.AI;
using Sdar.Runtime;
using Sdar.Serving;
using Sdar.Tests.Cli;

namespace Sdar.Tests.Serving;

public sealed class SdarChatClientTests
{
    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 24 };

    [Fact]
    public async Task A_chat_answer_equals_the_generator_and_streaming_concatenates_to_it()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        using IChatClient client = new SdarChatClient(model);
        ChatMessage[] chat = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "What is 2 + 2?")];

        var response = await client.GetResponseAsync(chat, Greedy);
        var prompt = model.Tokenizer.Encode(model.RenderChat(
            [global::Sdar.Templates.ChatMessages.Message("system", "Be brief."), global::Sdar.Templates.ChatMessages.Message("user", "What is 2 + 2?")])).ToArray();
        var alone = model.Generator.Generate(prompt, new global::Sdar.Decoding.GenerationOptions { Temperature = 0, MaxNewTokens = 24 });
        Assert.Equal(model.Tokenizer.Decode(alone.TokenIds, skipSpecialTokens: true), response.Text);
        Assert.Equal(prompt.Length, response.Usage!.InputTokenCount);
        Assert.Equal(alone.GeneratedTokenCount, response.Usage.OutputTokenCount);

        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(chat, Greedy)) streamed.Add(update);
        Assert.Equal(response.Text, string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(response.FinishReason, streamed[^1].FinishReason);
        Assert.True(streamed.Count > 1, "one update per finished block");
    }

    [Fact]
    public async Task Stop_sequences_cut_the_text_and_tools_a_template_cannot_render_are_refused_not_ignored()
    {
        using var model = LoadedModel.Open(CliRunner.TinySdar);
        using IChatClient client = new SdarChatClient(model);
        ChatMessage[] chat = [new(ChatRole.User, "Hello")];
        var plain = await client.GetResponseAsync(chat, Greedy);
        Assert.True(plain.Text.Length > 6);
        string stop = plain.Text.Substring(3, 3);
        var cut = await client.GetResponseAsync(chat, new ChatOptions { Temperature = 0, MaxOutputTokens = 24, StopSequences = [stop] });
        Assert.Equal(plain.Text[..plain.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);

        // tiny-sdar's template has no tools section: the model would never see them.
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] };
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(chat, tools));
        Assert.Contains("does not render tools", error.Message);
    }
}

/// <summary>
/// A model that writes a fixed answer: the logits row of every position past the prompt puts all its weight on the
/// script's token for that position (then on the end-of-turn id), whatever it attends to.
/// </summary>
internal sealed class ScriptedAnswerModel(global::Sdar.Config.ModelConfig config, int promptLength, int[] script, int endId)
    : global::Sdar.Model.ILanguageModel
{
    public global::Sdar.Config.ModelConfig Config => config;

    public float[][] Forward(IReadOnlyList<global::Sdar.Model.SequenceInput> batch)
    {
        var output = new float[batch.Count][];
        for (int b = 0; b < batch.Count; b++)
        {
            var input = batch[b];
            int first = input.FirstLogitRow, rows = input.LogitRowCount, vocab = config.VocabSize;
            output[b] = new float[rows * vocab];
            for (int r = 0; r < rows; r++)
            {
                int position = input.Cache.Length + first + r, index = position - promptLength;
                int token = index >= 0 && index < script.Length ? script[index] : endId;
                output[b][r * vocab + token] = 30;
            }
            int stored = input.StoredCount;
            input.Cache.Reserve(stored);
            input.Cache.Advance(stored);
        }
        return output;
    }
}

public sealed class SdarChatClientToolTests
{
    [Fact]
    public async Task Tools_go_through_the_template_and_a_tool_call_in_the_output_comes_back_as_a_function_call()
    {
        using var model = LoadedModel.Open(BundledModels.Locate());
        var weather = AIFunctionFactory.Create((string city) => $"sunny in {city}", "get_weather", "The weather in a city");
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64, Tools = [weather] };
        ChatMessage[] chat = [new(ChatRole.User, "Weather in Paris?")];

        // The prompt the client renders: the tool's schema is in it (Qwen3's template lists the tools).
        var tools = new List<object?> { new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?> { ["name"] = "get_weather", ["description"] = "The weather in a city", ["parameters"] = weather.JsonSchema },
        } };
        string rendered = model.RenderChat([global::Sdar.Templates.ChatMessages.Message("user", "Weather in Paris?")], true, null, tools);
        Assert.Contains("get_weather", rendered);
        int promptLength = model.Tokenizer.Encode(rendered).Count;

        string answer = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        var script = model.Tokenizer.Encode(answer).ToArray();
        var scripted = new ScriptedAnswerModel(model.Config, promptLength, script, model.StopTokenIds[0]);
        await using var host = new EngineHost(new global::Sdar.Decoding.Engine(scripted, null, model.StopTokenIds));
        using IChatClient client = new SdarChatClient(model, host);

        var response = await client.GetResponseAsync(chat, options);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages[0].Contents.OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", call.Arguments!["city"]!.ToString());

        // The call and its result go back into the template for the next turn.
        var next = chat.Concat([response.Messages[0], new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "sunny in Paris")])]).ToArray();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(next, options)) updates.Add(update);
        Assert.NotEmpty(updates);
    }
}
