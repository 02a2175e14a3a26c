using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Sdar.Server;

/// <summary>
/// Server-sent events as the OpenAI streaming API sends them: <c>data: {json}\n\n</c> per event, flushed at once so a
/// client sees each block when it is final, and <c>data: [DONE]\n\n</c> at the end.
/// </summary>
internal sealed class SseWriter(HttpResponse response)
{
    private static readonly byte[] Done = Encoding.UTF8.GetBytes("data: [DONE]\n\n");
    private bool _started;

    /// <summary>Sends the event-stream headers; after this the status can no longer change.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started) return;
        _started = true;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";   // proxies such as nginx would otherwise hold the events back
        await response.StartAsync(cancellationToken);
    }

    public async Task WriteAsync(JsonNode data, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        byte[] bytes = Encoding.UTF8.GetBytes("data: " + data.ToJsonString(CompletionEndpoint.Wire) + "\n\n");
        await response.Body.WriteAsync(bytes, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public async Task WriteDoneAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        await response.Body.WriteAsync(Done, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
