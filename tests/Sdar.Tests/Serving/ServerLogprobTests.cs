using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Sdar.Tests.Serving;

/// <summary>logprobs / top_logprobs over HTTP: each token's log-probability at the step that committed it.</summary>
public sealed class ServerLogprobTests(BundledServerFixture fixture) : IClassFixture<BundledServerFixture>
{
    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Ask = """ "messages": [{"role": "user", "content": "What is 2 + 3?"}], "temperature": 0, "max_tokens": 24 """;

    private async Task<JsonElement[]> StreamAsync(string path, string body)
    {
        using var response = await fixture.Http.PostAsync(fixture.Server.Url + path, new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var events = text[..^2].Split("\n\n").Select(e => e["data: ".Length..]).ToArray();
        return events[..^1].Select(e => { using var doc = JsonDocument.Parse(e); return doc.RootElement.Clone(); }).ToArray();
    }

    [Fact]
    public async Task Chat_logprobs_cover_every_answer_token_and_greedy_tokens_are_their_own_best_alternative()
    {
        string body = "{" + Ask + """, "logprobs": true, "top_logprobs": 3}""";
        var whole = await fixture.PostOkAsync(Chat, body);
        var choice = whole.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        int answerTokens = whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32()
            - (choice.GetProperty("finish_reason").GetString() == "stop" ? 1 : 0);   // the end-of-turn id has no entry
        Assert.Equal(answerTokens, content.Length);
        var bytes = new List<byte>();
        foreach (var token in content)
        {
            double logprob = token.GetProperty("logprob").GetDouble();
            Assert.True(logprob <= 0);
            var top = token.GetProperty("top_logprobs").EnumerateArray().ToArray();
            Assert.Equal(3, top.Length);
            Assert.Equal(token.GetProperty("token").GetString(), top[0].GetProperty("token").GetString());
            Assert.Equal(logprob, top[0].GetProperty("logprob").GetDouble());
            Assert.True(top[1].GetProperty("logprob").GetDouble() <= top[0].GetProperty("logprob").GetDouble());
            bytes.AddRange(token.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        }
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), Encoding.UTF8.GetString([.. bytes]));

        var chunks = await StreamAsync(Chat, body[..^1] + ", \"stream\": true}");
        var streamed = chunks.Select(c => c.GetProperty("choices")[0].GetProperty("logprobs"))
            .Where(l => l.ValueKind == JsonValueKind.Object)
            .SelectMany(l => l.GetProperty("content").EnumerateArray()).Select(t => t.GetRawText());
        Assert.Equal(content.Select(t => t.GetRawText()), streamed);

        var without = await fixture.PostOkAsync(Chat, "{" + Ask + "}");
        Assert.Equal(JsonValueKind.Null, without.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(),
            without.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Completion_logprobs_have_tokens_offsets_and_alternatives_streamed_alike()
    {
        string body = """{"prompt": "The quick brown fox", "max_tokens": 16, "temperature": 0, "logprobs": 2}""";
        var whole = await fixture.PostOkAsync(Completions, body);
        var choice = whole.GetProperty("choices")[0];
        string text = choice.GetProperty("text").GetString()!;
        var logprobs = choice.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToArray();
        Assert.Equal(text, string.Concat(tokens));
        Assert.Equal(tokens.Length, logprobs.GetProperty("token_logprobs").GetArrayLength());
        for (int i = 0; i < tokens.Length; i++) Assert.Equal(text.Length - string.Concat(tokens[i..]).Length, offsets[i]);
        Assert.All(logprobs.GetProperty("top_logprobs").EnumerateArray(), top => Assert.InRange(top.EnumerateObject().Count(), 1, 2));

        var chunks = await StreamAsync(Completions, body[..^1] + ", \"stream\": true}");
        var parts = chunks.Select(c => c.GetProperty("choices")[0].GetProperty("logprobs")).Where(l => l.ValueKind == JsonValueKind.Object).ToArray();
        Assert.Equal(tokens, parts.SelectMany(p => p.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)));
        Assert.Equal(offsets, parts.SelectMany(p => p.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32())));
    }

    [Theory]
    [InlineData(Chat, """ "logprobs": true, "top_logprobs": 21 """, "top_logprobs")]
    [InlineData(Chat, """ "top_logprobs": 2 """, "top_logprobs")]
    [InlineData(Chat, """ "logprobs": 2 """, "logprobs")]
    [InlineData(Completions, """ "logprobs": 6 """, "logprobs")]
    [InlineData(Completions, """ "logprobs": true """, "logprobs")]
    [InlineData(Completions, """ "top_logprobs": 2 """, "top_logprobs")]
    public async Task Bad_logprob_fields_are_400_naming_the_field(string path, string field, string param) =>
        await fixture.PostErrorAsync(path, path == Chat ? "{" + Ask + "," + field + "}" : """{"prompt": "x", """ + field + "}", HttpStatusCode.BadRequest, param);

    [Fact]
    public async Task The_OpenAI_sdk_reads_the_token_logprobs()
    {
        var client = new ChatClient(fixture.Server.ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Url + "/v1") });
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };
        ChatCompletion answer = await client.CompleteChatAsync([new UserChatMessage("What is 2 + 3?")], options);
        Assert.NotEmpty(answer.ContentTokenLogProbabilities);
        Assert.All(answer.ContentTokenLogProbabilities, t =>
        {
            Assert.True(t.LogProbability <= 0);
            Assert.Equal(2, t.TopLogProbabilities.Count);
            Assert.Equal(t.Token, t.TopLogProbabilities[0].Token);
        });
    }
}
