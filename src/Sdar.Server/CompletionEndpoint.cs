using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Serving;

namespace Sdar.Server;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>: body -> <see cref="CompletionRequest"/> ->
/// prompt ids -> one engine request per choice -> a JSON answer or a stream of chunks. No model logic lives here:
/// the engine host decodes, the mapper and the library check the options.
/// </summary>
internal sealed class CompletionEndpoint(LoadedModel model, EngineHost host, string servedModelName)
{
    public async Task HandleAsync(HttpContext context, CompletionKind kind)
    {
        var cancellation = context.RequestAborted;   // a client that goes away aborts its sequences
        try
        {
            CompletionRequest request;
            using (var body = await ReadBodyAsync(context.Request, cancellation))
                request = CompletionRequestMapper.Map(body.RootElement, kind, model.GenerationConfig);
            if (request.Model is not null && request.Model != servedModelName)
                throw new ApiException(404, $"the model '{request.Model}' does not exist; this server serves '{servedModelName}'", "model", "model_not_found");
            int[] prompt = Encode(request);
            var streams = await SubmitAllAsync(prompt, request, cancellation);
            var response = new ResponseJson(kind, servedModelName);
            if (request.Stream) await StreamAsync(context, request, prompt.Length, streams, response, cancellation);
            else await CompleteAsync(context, request, prompt.Length, streams, response, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The client left; its sequences were aborted when their streams were cancelled.
        }
        catch (ApiException error) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context.Response, error);
        }
    }

    public static async Task WriteErrorAsync(HttpResponse response, ApiException error)
    {
        response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is int seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await WriteJsonAsync(response, error.ToJson());
    }

    public static async Task WriteJsonAsync(HttpResponse response, JsonNode json)
    {
        response.ContentType = "application/json";
        await response.WriteAsync(json.ToJsonString(Wire));
    }

    /// <summary>JSON as the OpenAI API writes it: text left readable (no \u0027 for a quote); it is never embedded in HTML.</summary>
    public static readonly JsonSerializerOptions Wire = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task<JsonDocument> ReadBodyAsync(HttpRequest request, CancellationToken cancellation)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, default, cancellation);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON: {e.Message}", null, "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiException(413, $"the request body is larger than this server accepts ({e.Message})", null, "request_too_large");
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiException(e.StatusCode, $"bad request body: {e.Message}", null, "invalid_request");
        }
    }

    /// <summary>The prompt ids: chat messages through the model's chat template, or the raw prompt.</summary>
    private int[] Encode(CompletionRequest request)
    {
        string param = request.Kind == CompletionKind.Chat ? "messages" : "prompt";
        int[] ids;
        if (request.Messages is not null)
        {
            ids = model.Tokenizer.Encode(ChatPrompt(model, request)).ToArray();
        }
        else if (request.PromptIds is not null)
        {
            ids = request.PromptIds;
            foreach (int id in ids)
                if (id >= model.Config.VocabSize)
                    throw ApiException.BadRequest($"token id {id} in 'prompt' is outside the vocabulary (0..{model.Config.VocabSize - 1})", "prompt");
        }
        else
        {
            ids = model.Tokenizer.Encode(request.PromptText ?? "").ToArray();
        }
        if (ids.Length == 0) throw ApiException.BadRequest($"the prompt is empty: '{param}' must hold at least one token", param);
        int context = model.Config.MaxPositionEmbeddings;
        if (ids.Length >= context)
            throw new ApiException(400, $"the prompt has {ids.Length} tokens but the model's context is {context} positions, with room needed for the answer",
                param, "context_length_exceeded");
        return ids;
    }

    /// <summary>
    /// A chat request's prompt text: the messages (and tools) through the model's chat template, then the opening of a
    /// forced tool call, which starts the answer for the model.
    /// </summary>
    internal static string ChatPrompt(LoadedModel model, CompletionRequest request)
    {
        if (model.ChatTemplate is null)
            throw new ApiException(400, "this model has no chat template; use /v1/completions with a raw prompt", "messages", "invalid_value");
        ArgumentNullException.ThrowIfNull(request.Messages);
        var tools = request.Tools.Tools;
        string text;
        try
        {
            text = model.RenderChat(request.Messages, addGenerationPrompt: true, request.EnableThinking, tools);
            if (tools is not null && text == model.RenderChat(request.Messages, addGenerationPrompt: true, request.EnableThinking))
                throw new ApiException(400, "this model's chat template does not render tools, so the model would never see them; send the request without 'tools'",
                    "tools", "unsupported_parameter");
        }
        catch (Exception e) when (e is SdarException or ArgumentException or InvalidOperationException)
        {
            throw new ApiException(400, $"the chat template could not render these messages: {e.Message}", "messages", "invalid_value");
        }
        return text + request.Tools.AnswerPrefix;
    }

    /// <summary>
    /// One engine request per choice. If one is refused, the ones already queued are abandoned, so that a refused
    /// request leaves nothing behind in the engine.
    /// </summary>
    private async Task<List<IAsyncEnumerable<GeneratedChunk>>> SubmitAllAsync(int[] prompt, CompletionRequest request, CancellationToken cancellation)
    {
        var streams = new List<IAsyncEnumerable<GeneratedChunk>>(request.N);
        try
        {
            for (int i = 0; i < request.N; i++)
                streams.Add(await host.SubmitAsync(new GenerationRequest(prompt, request.OptionsForChoice(i)), cancellation));
            return streams;
        }
        catch (Exception error)
        {
            foreach (var stream in streams) await AbandonAsync(stream);
            throw error switch
            {
                GenerationOptionException option => ApiException.BadRequest(option.MessageNaming(CompletionRequestMapper.ParamOf(option, request)),
                    CompletionRequestMapper.ParamOf(option, request)),
                EngineBusyException busy => new ApiException(429, busy.Message, null, "rate_limit_exceeded", "rate_limit_error") { RetryAfterSeconds = 1 },
                ArgumentException argument => ApiException.BadRequest(argument.Message, null),
                _ => error,
            };
        }
    }

    /// <summary>
    /// A stream's reader sends the abort when it stops before the end, but only once it has started; reading it
    /// with a cancelled token starts it and stops it at once.
    /// </summary>
    private static async Task AbandonAsync(IAsyncEnumerable<GeneratedChunk> stream)
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var reader = stream.GetAsyncEnumerator(cancelled.Token);
        try
        {
            await reader.MoveNextAsync();
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await reader.DisposeAsync();
        }
    }

    private async Task CompleteAsync(HttpContext context, CompletionRequest request, int promptTokens, List<IAsyncEnumerable<GeneratedChunk>> streams,
        ResponseJson response, CancellationToken cancellation)
    {
        var results = await Task.WhenAll(streams.Select(s => LastResultAsync(s, cancellation)));
        var choices = results.Select((r, index) =>
        {
            string text = AnswerText(r);
            var logprobs = new LogprobsJson(model.Tokenizer, request.Kind).For(r.Logprobs);
            if (response.Kind != CompletionKind.Chat) return new ChoiceOutput(text, ResponseJson.FinishReason(r), null, [], logprobs);
            // The same parser as the stream, so that a streamed answer and a whole one agree.
            var parser = Parser(request, response, index);
            var pieces = new[] { parser.Push(request.Tools.AnswerPrefix + text), parser.Finish() };
            var calls = pieces.SelectMany(p => p.ToolCalls).ToArray();
            return new ChoiceOutput(string.Concat(pieces.Select(p => p.Content)), ResponseJson.FinishReason(r, calls.Length > 0),
                parser.Thought ? string.Concat(pieces.Select(p => p.Reasoning)) : null, calls, logprobs);
        }).ToArray();
        var usage = ResponseJson.Usage(promptTokens, results.Sum(r => r.GeneratedTokenCount));
        await WriteJsonAsync(context.Response, response.Complete(choices, usage));
    }

    private static async Task<GenerationResult> LastResultAsync(IAsyncEnumerable<GeneratedChunk> stream, CancellationToken cancellation)
    {
        await foreach (var chunk in stream.WithCancellation(cancellation))
            if (chunk.Result is { } result) return result;
        throw new InvalidOperationException("the engine ended a sequence without a result");
    }

    /// <summary>
    /// The split of choice <paramref name="index"/>'s chat answer: thinking, and tool calls when tools were offered
    /// (ids unique to the response and the choice).
    /// </summary>
    private static AssistantStreamParser Parser(CompletionRequest request, ResponseJson response, int index) =>
        new(request.Tools.Tools is not null, $"call_{response.Id[^12..]}_{index}_", request.Tools.ParallelCalls);

    /// <summary>The answer's text; a stop string cuts it exactly, inside a token if need be (see <see cref="GenerationResult.Text"/>).</summary>
    private string AnswerText(GenerationResult result) => result.Text ?? model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);

    private sealed record StreamEvent(int Index, string? FinishReason, int CompletionTokens, AssistantDelta Delta, int FirstCallIndex, JsonNode? Logprobs);

    /// <summary>
    /// The choices decode concurrently; their pieces meet in one channel so that a single writer sends the events
    /// in the order they became final.
    /// </summary>
    private async Task StreamAsync(HttpContext context, CompletionRequest request, int promptTokens,
        List<IAsyncEnumerable<GeneratedChunk>> streams, ResponseJson response, CancellationToken cancellation)
    {
        var sse = new SseWriter(context.Response);
        await sse.StartAsync(cancellation);
        if (request.Kind == CompletionKind.Chat)
            for (int i = 0; i < streams.Count; i++) await sse.WriteAsync(response.Chunk(i, "", withRole: true), cancellation);

        var events = Channel.CreateUnbounded<StreamEvent>(new UnboundedChannelOptions { SingleReader = true });
        var producers = streams.Select((stream, index) => ProduceAsync(stream, index, request, response, events.Writer, cancellation)).ToArray();
        _ = Task.WhenAll(producers).ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        int completionTokens = 0;
        try
        {
            await foreach (var piece in events.Reader.ReadAllAsync(cancellation))
            {
                completionTokens += piece.CompletionTokens;
                var delta = piece.Delta;
                await sse.WriteAsync(response.Chunk(piece.Index, delta.Content, finishReason: piece.FinishReason, reasoning: delta.Reasoning,
                    toolCalls: delta.ToolCalls, firstCallIndex: piece.FirstCallIndex, logprobs: piece.Logprobs), cancellation);
            }
        }
        catch (Exception error) when (error is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            // The status line is gone: the failure becomes the stream's last event.
            await sse.WriteAsync(new ApiException(500, $"generation failed: {error.Message}", null, "internal_error", "server_error").ToJson(), cancellation);
            return;
        }
        if (request.IncludeUsage) await sse.WriteAsync(response.UsageChunk(ResponseJson.Usage(promptTokens, completionTokens)), cancellation);
        await sse.WriteDoneAsync(cancellation);
    }

    private async Task ProduceAsync(IAsyncEnumerable<GeneratedChunk> stream, int index, CompletionRequest request, ResponseJson response,
        ChannelWriter<StreamEvent> events, CancellationToken cancellation)
    {
        var decoder = model.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        var sent = new System.Text.StringBuilder();
        // Chat answers have their thinking and tool calls split out as they stream; text completions are returned as they are.
        var parser = request.Kind == CompletionKind.Chat ? Parser(request, response, index) : null;
        string prefix = request.Tools.AnswerPrefix;   // a forced call's opening is part of the answer
        // Logprobs go with the event that carries their tokens' text; tokens whose text is held back wait for it.
        var logprobs = new LogprobsJson(model.Tokenizer, request.Kind);
        var unsentLogprobs = request.Options.Logprobs is null ? null : new List<TokenLogprob>();
        await foreach (var chunk in stream.WithCancellation(cancellation))
        {
            var text = new System.Text.StringBuilder(prefix);
            prefix = "";
            foreach (int id in chunk.TokenIds) text.Append(decoder.Push(id));
            unsentLogprobs?.AddRange(chunk.Logprobs ?? []);
            if (chunk.Result is not { } result)
            {
                if (text.Length == 0) continue;
                sent.Append(text);
                int calls = parser?.CallCount ?? 0;
                var delta = parser?.Push(text.ToString()) ?? new AssistantDelta("", text.ToString(), []);
                if (delta.IsEmpty) continue;
                await events.WriteAsync(new StreamEvent(index, null, 0, delta, calls, TakeLogprobs()), cancellation);
                continue;
            }
            text.Append(decoder.Flush());
            sent.Append(text);
            // A stop string may cut inside a token: the part before the stop comes from the result's text.
            text.Append(result.TextBeyond(sent.ToString()[request.Tools.AnswerPrefix.Length..]));
            var last = new AssistantDelta("", text.ToString(), []);
            int firstCall = parser?.CallCount ?? 0;
            if (parser is not null)
            {
                var pushed = parser.Push(text.ToString());
                var finished = parser.Finish();
                last = new AssistantDelta(pushed.Reasoning + finished.Reasoning, pushed.Content + finished.Content, [.. pushed.ToolCalls, .. finished.ToolCalls]);
            }
            await events.WriteAsync(new StreamEvent(index, ResponseJson.FinishReason(result, parser?.CallCount > 0), result.GeneratedTokenCount, last, firstCall,
                TakeLogprobs()), cancellation);
        }

        JsonNode? TakeLogprobs()
        {
            if (unsentLogprobs is null) return null;
            var json = logprobs.For(unsentLogprobs);
            unsentLogprobs.Clear();
            return json;
        }
    }
}
