using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Sdar.Runtime;
using Sdar.Server;

namespace Sdar.Tests.Serving;

/// <summary>
/// Tool calls over HTTP. The bundled model's Qwen3 template renders tools; a <see cref="ScriptedAnswerModel"/> behind
/// the real server writes the answer each test needs (a call, a malformed call, text), so what is tested is the
/// server: the prompt it renders, the calls it parses, the response and the streamed deltas it writes.
/// </summary>
public sealed class ServerToolCallTests
{
    private const string Chat = "/v1/chat/completions";
    private const string Tools = """
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]
        """;
    private const string Ask = """ "messages": [{"role": "user", "content": "Weather in Paris?"}], "temperature": 0, "max_tokens": 240 """;
    private const string WeatherCall = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
    private const string TimeCall = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";

    /// <summary>A server whose model writes <paramref name="answer"/> after the prompt the server renders for <paramref name="body"/>.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        public required SdarServer Server { get; init; }
        public required string Prompt { get; init; }
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

        public static async Task<ScriptedServer> StartAsync(string body, string answer)
        {
            var model = LoadedModel.Open(BundledModels.Locate());
            using var json = JsonDocument.Parse(body);
            var request = CompletionRequestMapper.Map(json.RootElement, CompletionKind.Chat, model.GenerationConfig);
            string prompt = CompletionEndpoint.ChatPrompt(model, request);
            // The model writes the script after the prompt, which ends with any opening the server forced.
            var script = model.Tokenizer.Encode(request.Tools.AnswerPrefix.Length > 0 && answer.StartsWith(request.Tools.AnswerPrefix, StringComparison.Ordinal)
                ? answer[request.Tools.AnswerPrefix.Length..] : answer).ToArray();
            var scripted = new ScriptedAnswerModel(model.Config, model.Tokenizer.Encode(prompt).Count, script, model.StopTokenIds[0]);
            var engine = new global::Sdar.Decoding.Engine(scripted, null, model.StopTokenIds);
            var server = await SdarServer.StartAsync(model, engine, new SdarServerOptions { Host = "127.0.0.1", Port = 0 });
            return new ScriptedServer { Server = server, Prompt = prompt };
        }

        public async Task<JsonElement> PostOkAsync(string body)
        {
            using var response = await Http.PostAsync(Server.Url + Chat, new StringContent(body, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }

        /// <summary>The parsed chunks of a streamed answer (without the closing [DONE]).</summary>
        public async Task<JsonElement[]> StreamAsync(string body)
        {
            using var response = await Http.PostAsync(Server.Url + Chat, new StringContent(body, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var events = text[..^2].Split("\n\n").Select(e => e["data: ".Length..]).ToArray();
            Assert.Equal("[DONE]", events[^1]);
            return events[..^1].Select(e => { using var doc = JsonDocument.Parse(e); return doc.RootElement.Clone(); }).ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
        }
    }

    /// <summary>The message of a streamed answer put back together: content, and calls by index with their arguments joined.</summary>
    private static (string Content, string? Finish, List<(string Id, string Name, string Arguments)> Calls) Assemble(JsonElement[] chunks)
    {
        var content = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        string? finish = null;
        foreach (var chunk in chunks)
        {
            var choice = chunk.GetProperty("choices")[0];
            var delta = choice.GetProperty("delta");
            if (delta.TryGetProperty("content", out var text) && text.ValueKind == JsonValueKind.String) content.Append(text.GetString());
            if (delta.TryGetProperty("tool_calls", out var deltas))
                foreach (var call in deltas.EnumerateArray())
                {
                    int index = call.GetProperty("index").GetInt32();
                    var function = call.GetProperty("function");
                    if (!calls.TryGetValue(index, out var entry))
                        calls[index] = entry = (call.GetProperty("id").GetString()!, function.GetProperty("name").GetString()!, new StringBuilder());
                    if (function.TryGetProperty("arguments", out var arguments)) entry.Arguments.Append(arguments.GetString());
                }
            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = choice.GetProperty("finish_reason").GetString();
        }
        return (content.ToString(), finish, calls.Values.Select(c => (c.Id, c.Name, c.Arguments.ToString())).ToList());
    }

    [Fact]
    public async Task A_tool_call_in_the_output_comes_back_as_tool_calls_whole_and_streamed()
    {
        string body = "{" + Ask + "," + Tools + "}";
        await using var server = await ScriptedServer.StartAsync(body, "Let me look.\n" + WeatherCall + "\n" + TimeCall);
        Assert.Contains("get_weather", server.Prompt);   // the template listed the tools for the model
        Assert.Contains("The weather in a city", server.Prompt);

        var whole = await server.PostOkAsync(body);
        var choice = whole.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal("Let me look.", message.GetProperty("content").GetString());
        var calls = message.GetProperty("tool_calls");
        Assert.Equal(2, calls.GetArrayLength());
        Assert.Equal("function", calls[0].GetProperty("type").GetString());
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        using (var arguments = JsonDocument.Parse(calls[0].GetProperty("function").GetProperty("arguments").GetString()!))
            Assert.Equal("Paris", arguments.RootElement.GetProperty("city").GetString());
        Assert.Equal("get_time", calls[1].GetProperty("function").GetProperty("name").GetString());
        Assert.NotEqual(calls[0].GetProperty("id").GetString(), calls[1].GetProperty("id").GetString());

        var streamed = Assemble(await server.StreamAsync(body[..^1] + ", \"stream\": true}"));
        Assert.Equal("Let me look.", streamed.Content);
        Assert.Equal("tool_calls", streamed.Finish);
        Assert.Equal(
            calls.EnumerateArray().Select(c => (c.GetProperty("function").GetProperty("name").GetString(), c.GetProperty("function").GetProperty("arguments").GetString())),
            streamed.Calls.Select(c => ((string?)c.Name, (string?)c.Arguments)));
    }

    [Fact]
    public async Task A_malformed_tool_call_is_returned_as_text_with_finish_reason_stop()
    {
        string body = "{" + Ask + "," + Tools + "}";
        const string Broken = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \n</tool_call>";
        await using var server = await ScriptedServer.StartAsync(body, Broken);
        var choice = (await server.PostOkAsync(body)).GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(Broken, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));

        var streamed = Assemble(await server.StreamAsync(body[..^1] + ", \"stream\": true}"));
        Assert.Equal((Broken, "stop", 0), (streamed.Content, streamed.Finish, streamed.Calls.Count));
    }

    [Fact]
    public async Task A_named_tool_choice_starts_the_answer_with_that_call()
    {
        string body = "{" + Ask + "," + Tools + """, "tool_choice": {"type": "function", "function": {"name": "get_time"}}}""";
        // The server writes the call's opening; the model only writes the arguments and the closing tag.
        await using var server = await ScriptedServer.StartAsync(body, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>");
        Assert.EndsWith("<tool_call>\n{\"name\": \"get_time\", \"arguments\": ", server.Prompt);
        var message = (await server.PostOkAsync(body)).GetProperty("choices")[0].GetProperty("message");
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("get_time", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("{\"zone\": \"CET\"}", call.GetProperty("function").GetProperty("arguments").GetString());

        var streamed = Assemble(await server.StreamAsync(body[..^1] + ", \"stream\": true}"));
        Assert.Equal(("get_time", "{\"zone\": \"CET\"}"), (streamed.Calls.Single().Name, streamed.Calls.Single().Arguments));
    }

    [Fact]
    public async Task Required_forces_a_call_and_none_leaves_the_tools_out_of_the_prompt()
    {
        string required = "{" + Ask + "," + Tools + """, "tool_choice": "required"}""";
        await using (var server = await ScriptedServer.StartAsync(required, WeatherCall))
        {
            Assert.EndsWith("<tool_call>\n", server.Prompt);
            var choice = (await server.PostOkAsync(required)).GetProperty("choices")[0];
            Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        }

        string none = "{" + Ask + "," + Tools + """, "tool_choice": "none"}""";
        await using (var server = await ScriptedServer.StartAsync(none, WeatherCall))
        {
            Assert.DoesNotContain("get_weather", server.Prompt);
            var choice = (await server.PostOkAsync(none)).GetProperty("choices")[0];
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(WeatherCall, choice.GetProperty("message").GetProperty("content").GetString());   // no tools: a call is text
        }
    }

    [Fact]
    public async Task With_parallel_tool_calls_off_only_the_first_call_is_returned()
    {
        string body = "{" + Ask + "," + Tools + """, "parallel_tool_calls": false}""";
        await using var server = await ScriptedServer.StartAsync(body, WeatherCall + "\n" + TimeCall);
        var message = (await server.PostOkAsync(body)).GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("get_weather", Assert.Single(message.GetProperty("tool_calls").EnumerateArray()).GetProperty("function").GetProperty("name").GetString());
        var streamed = Assemble(await server.StreamAsync(body[..^1] + ", \"stream\": true}"));
        Assert.Equal("get_weather", Assert.Single(streamed.Calls).Name);
    }

    [Fact]
    public async Task Assistant_tool_calls_and_tool_results_go_back_through_the_template()
    {
        string body = """
            {"messages": [{"role": "user", "content": "Weather in Paris?"},
                          {"role": "assistant", "content": null,
                           "tool_calls": [{"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                          {"role": "tool", "tool_call_id": "call_7", "content": "sunny, 21 C"}],
             "temperature": 0, "max_tokens": 40,
            """ + Tools + "}";
        await using var server = await ScriptedServer.StartAsync(body, "It is sunny in Paris.");
        Assert.Contains("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}", server.Prompt);
        Assert.Contains("sunny, 21 C", server.Prompt);
        var whole = await server.PostOkAsync(body);
        var choice = whole.GetProperty("choices")[0];
        Assert.Equal("It is sunny in Paris.", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task The_OpenAI_sdk_sees_tool_calls_whole_and_streamed()
    {
        string body = "{" + Ask + "," + Tools + "}";
        await using var server = await ScriptedServer.StartAsync(body, WeatherCall);
        var client = new ChatClient("sdar-mini", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Server.Url + "/v1") });
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 240 };
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "The weather in a city",
            BinaryData.FromString("""{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""")));
        options.Tools.Add(ChatTool.CreateFunctionTool("get_time", null, BinaryData.FromString("""{"type": "object", "properties": {}}""")));
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];

        ChatCompletion completion = await client.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());

        var names = new StringBuilder();
        var arguments = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                names.Append(part.FunctionName);
                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("get_weather", names.ToString());
        Assert.Equal(call.FunctionArguments.ToString(), arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);

        // The call and its result sent back the way the SDK writes them are accepted.
        messages.Add(new AssistantChatMessage(completion));
        messages.Add(new ToolChatMessage(call.Id, "sunny"));
        ChatCompletion next = await client.CompleteChatAsync(messages, options);
        Assert.NotNull(next);
    }
}

/// <summary>Bad tool fields are 400s that name the field, on a real server.</summary>
public sealed class ServerToolErrorTests(BundledServerFixture fixture) : IClassFixture<BundledServerFixture>
{
    private const string Chat = "/v1/chat/completions";
    private const string Hi = """ "messages": [{"role": "user", "content": "Hello"}] """;
    private const string Tool = """{"type": "function", "function": {"name": "f"}}""";

    [Theory]
    [InlineData("\"tools\": {}", "tools")]
    [InlineData("\"tools\": [3]", "tools[0]")]
    [InlineData("\"tools\": [{\"type\": \"retrieval\", \"function\": {\"name\": \"f\"}}]", "tools[0].type")]
    [InlineData("\"tools\": [{\"function\": {\"name\": \"f\"}}]", "tools[0].type")]
    [InlineData("\"tools\": [{\"type\": \"function\"}]", "tools[0].function")]
    [InlineData("\"tools\": [{\"type\": \"function\", \"function\": {}}]", "tools[0].function.name")]
    [InlineData("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"a b\"}}]", "tools[0].function.name")]
    [InlineData("\"tools\": [" + Tool + ", " + Tool + "]", "tools[1].function.name")]
    [InlineData("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": 3}}]", "tools[0].function.parameters")]
    [InlineData("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"strict\": true}}]", "tools[0].function.strict")]
    [InlineData("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"extra\": 1}}]", "tools[0].function.extra")]
    [InlineData("\"tools\": [" + Tool + "], \"tool_choice\": \"always\"", "tool_choice")]
    [InlineData("\"tools\": [" + Tool + "], \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"g\"}}", "tool_choice.function.name")]
    [InlineData("\"tool_choice\": \"required\"", "tool_choice")]
    [InlineData("\"tools\": [" + Tool + "], \"parallel_tool_calls\": \"yes\"", "parallel_tool_calls")]
    [InlineData("\"functions\": [{\"name\": \"f\"}]", "functions")]
    [InlineData("\"function_call\": \"auto\"", "function_call")]
    public async Task Bad_tool_fields_are_400_naming_the_field(string fields, string param) =>
        await fixture.PostErrorAsync(Chat, "{" + Hi + ", " + fields + "}", HttpStatusCode.BadRequest, param);

    [Theory]
    [InlineData("""[{"role": "function", "name": "f", "content": "1"}]""", "messages[0].role")]
    [InlineData("""[{"role": "tool", "content": "1", "tool_call_id": 5}]""", "messages[0].tool_call_id")]
    [InlineData("""[{"role": "user", "content": "1", "tool_call_id": "a"}]""", "messages[0].tool_call_id")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": {}}]""", "messages[0].tool_calls")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": [{"type": "function"}]}]""", "messages[0].tool_calls[0].function")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": [{"function": {"arguments": "{}"}}]}]""", "messages[0].tool_calls[0].function.name")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}]""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}]""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""[{"role": "assistant", "content": null, "tool_calls": [{"type": "code", "function": {"name": "f"}}]}]""", "messages[0].tool_calls[0].type")]
    public async Task Bad_tool_messages_are_400_naming_the_field(string messages, string param) =>
        await fixture.PostErrorAsync(Chat, $$"""{"messages": {{messages}}}""", HttpStatusCode.BadRequest, param);
}
