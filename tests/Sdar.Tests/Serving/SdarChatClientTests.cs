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
    public async Task Stop_sequences_cut_the_text_and_tools_are_refused_not_ignored()
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

        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] };
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(chat, tools));
    }
}
