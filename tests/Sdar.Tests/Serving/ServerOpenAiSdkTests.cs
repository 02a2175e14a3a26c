using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace Sdar.Tests.Serving;

/// <summary>The official OpenAI .NET SDK against the real server on loopback.</summary>
public sealed class ServerOpenAiSdkTests(BundledServerFixture fixture) : IClassFixture<BundledServerFixture>
{
    private ChatClient Client() => new(fixture.Server.ModelName, new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Url + "/v1") });

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    private static readonly ChatMessage[] Question = [new SystemChatMessage("You are helpful."), new UserChatMessage("What is the capital of France?")];

    [Fact]
    public async Task Chat_answers_with_text_usage_and_finish_reason()
    {
        ChatCompletion answer = await Client().CompleteChatAsync(Question, Greedy(12));
        Assert.Equal(ChatMessageRole.Assistant, answer.Role);
        Assert.False(string.IsNullOrEmpty(answer.Content[0].Text));
        Assert.Equal(fixture.Server.ModelName, answer.Model);
        Assert.True(answer.Usage.InputTokenCount > 5);
        Assert.InRange(answer.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(answer.Usage.InputTokenCount + answer.Usage.OutputTokenCount, answer.Usage.TotalTokenCount);
        Assert.Equal(answer.Usage.OutputTokenCount == 12 ? ChatFinishReason.Length : ChatFinishReason.Stop, answer.FinishReason);
    }

    [Fact]
    public async Task Streamed_text_equals_the_whole_answer_with_greedy_decoding()
    {
        var client = Client();
        ChatCompletion whole = await client.CompleteChatAsync(Question, Greedy(24));
        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        int updates = 0;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync(Question, Greedy(24)))
        {
            updates++;
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.True(updates >= 3, $"a chunk per finished block: role, text, finish; got {updates} updates");
        // The SDK asks for include_usage: the usage chunk must agree with the whole answer's.
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.TotalTokenCount, usage.TotalTokenCount);
    }

    [Fact]
    public async Task A_stop_string_ends_the_answer_before_it()
    {
        var client = Client();
        string full = (await client.CompleteChatAsync(Question, Greedy(24))).Value.Content[0].Text;
        Assert.True(full.Length >= 6, $"need a longer answer to pick a stop string from: '{full}'");
        string stop = full.Substring(full.Length / 2, 2);
        var options = Greedy(24);
        options.StopSequences.Add(stop);
        ChatCompletion cut = await client.CompleteChatAsync(Question, options);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task Unknown_model_is_a_404_through_the_sdk()
    {
        var client = new ChatClient("no-such-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Url + "/v1") });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Question, Greedy(4)));
        Assert.Equal(404, error.Status);
    }
}
