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
            else await CompleteAsync(context, prompt.Length, streams, response, cancellation);
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
            if (model.ChatTemplate is null)
                throw new ApiException(400, "this model has no chat template; use /v1/completions with a raw prompt", "messages", "invalid_value");
            string text;
            try
            {
                text = model.RenderChat(request.Messages, addGenerationPrompt: true, request.EnableThinking);
            }
            catch (Exception e) when (e is SdarException or ArgumentException or InvalidOperationException)
            {
                throw new ApiException(400, $"the chat template could not render these messages: {e.Message}", "messages", "invalid_value");
            }
            ids = model.Tokenizer.Encode(text).ToArray();
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

    private async Task CompleteAsync(HttpContext context, int promptTokens, List<IAsyncEnumerable<GeneratedChunk>> streams,
        ResponseJson response, CancellationToken cancellation)
    {
        var results = await Task.WhenAll(streams.Select(s => LastResultAsync(s, cancellation)));
        var choices = results.Select(r =>
        {
            string text = AnswerText(r);
            if (response.Kind != CompletionKind.Chat) return (text, ResponseJson.FinishReason(r), (string?)null);
            // The same splitter as the stream, so that a streamed answer and a whole one agree.
            var splitter = new ReasoningSplitter();
            var (reasoning, content) = splitter.Push(text);
            var (lastReasoning, lastContent) = splitter.Finish();
            return (content + lastContent, ResponseJson.FinishReason(r), splitter.Thought ? reasoning + lastReasoning : null);
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

    /// <summary>The answer's text; a stop string cuts it exactly, inside a token if need be (see <see cref="GenerationResult.Text"/>).</summary>
    private string AnswerText(GenerationResult result) => result.Text ?? model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);

    private sealed record StreamEvent(int Index, string Text, string? FinishReason, int CompletionTokens, string Reasoning = "");

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
        var producers = streams.Select((stream, index) => ProduceAsync(stream, index, request.Kind, events.Writer, cancellation)).ToArray();
        _ = Task.WhenAll(producers).ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        int completionTokens = 0;
        try
        {
            await foreach (var piece in events.Reader.ReadAllAsync(cancellation))
            {
                completionTokens += piece.CompletionTokens;
                await sse.WriteAsync(response.Chunk(piece.Index, piece.Text, finishReason: piece.FinishReason, reasoning: piece.Reasoning), cancellation);
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

    private async Task ProduceAsync(IAsyncEnumerable<GeneratedChunk> stream, int index, CompletionKind kind, ChannelWriter<StreamEvent> events, CancellationToken cancellation)
    {
        var decoder = model.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        var sent = new System.Text.StringBuilder();
        // Chat answers have their thinking split out as they stream; text completions are returned as they are.
        var splitter = kind == CompletionKind.Chat ? new ReasoningSplitter() : null;
        await foreach (var chunk in stream.WithCancellation(cancellation))
        {
            var text = new System.Text.StringBuilder();
            foreach (int id in chunk.TokenIds) text.Append(decoder.Push(id));
            if (chunk.Result is not { } result)
            {
                if (text.Length == 0) continue;
                sent.Append(text);
                var (reasoning, content) = splitter?.Push(text.ToString()) ?? ("", text.ToString());
                if (reasoning.Length > 0 || content.Length > 0)
                    await events.WriteAsync(new StreamEvent(index, content, null, 0, reasoning), cancellation);
                continue;
            }
            text.Append(decoder.Flush());
            sent.Append(text);
            // A stop string may cut inside a token: the part before the stop comes from the result's text.
            text.Append(result.TextBeyond(sent.ToString()));
            string lastReasoning = "", lastContent = text.ToString();
            if (splitter is not null)
            {
                var (r, c) = splitter.Push(lastContent);
                var (fr, fc) = splitter.Finish();
                (lastReasoning, lastContent) = (r + fr, c + fc);
            }
            await events.WriteAsync(new StreamEvent(index, lastContent, ResponseJson.FinishReason(result), result.GeneratedTokenCount, lastReasoning), cancellation);
        }
    }
}
