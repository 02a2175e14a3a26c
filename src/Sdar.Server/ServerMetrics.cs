using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Sdar.Serving;

namespace Sdar.Server;

/// <summary>
/// What <c>GET /metrics</c> reports, in the Prometheus text format: requests by route and status, their latency as a
/// histogram, and the engine's state (queue, running sequences, KV pages) and totals (forwards, tokens per forward,
/// generated tokens, preemptions).
/// </summary>
internal sealed class ServerMetrics(EngineHost host)
{
    private static readonly double[] LatencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
    private readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    private readonly long[] _latencyCounts = new long[LatencyBuckets.Length + 1];
    private long _latencyCount;
    private double _latencySum;
    private readonly object _latencyLock = new();

    public void Record(string route, int status, TimeSpan elapsed)
    {
        _requests.AddOrUpdate((route, status), 1, (_, n) => n + 1);
        lock (_latencyLock)
        {
            int bucket = 0;
            while (bucket < LatencyBuckets.Length && elapsed.TotalSeconds > LatencyBuckets[bucket]) bucket++;
            _latencyCounts[bucket]++;
            _latencyCount++;
            _latencySum += elapsed.TotalSeconds;
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        Line("# HELP sdar_requests_total HTTP requests to /v1 by route and status.");
        Line("# TYPE sdar_requests_total counter");
        foreach (var ((route, status), count) in _requests.OrderBy(kv => kv.Key.Route, StringComparer.Ordinal).ThenBy(kv => kv.Key.Status))
            Line($"sdar_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}");

        Line("# HELP sdar_request_duration_seconds Time from request to the end of its response.");
        Line("# TYPE sdar_request_duration_seconds histogram");
        lock (_latencyLock)
        {
            long cumulative = 0;
            for (int i = 0; i < LatencyBuckets.Length; i++)
            {
                cumulative += _latencyCounts[i];
                Line($"sdar_request_duration_seconds_bucket{{le=\"{F(LatencyBuckets[i])}\"}} {cumulative}");
            }
            Line($"sdar_request_duration_seconds_bucket{{le=\"+Inf\"}} {_latencyCount}");
            Line($"sdar_request_duration_seconds_sum {F(_latencySum)}");
            Line($"sdar_request_duration_seconds_count {_latencyCount}");
        }

        var (waiting, running, pages, pageCount) = host.Snapshot;
        var totals = host.Totals;
        Gauge("sdar_queue_waiting", "Sequences waiting for admission (the engine's waiting queue).", waiting);
        Gauge("sdar_sequences_running", "Sequences admitted and decoding.", running);
        Gauge("sdar_requests_pending", "Requests in the engine host (waiting or running).", host.Pending);
        Gauge("sdar_kv_pages_used", "KV cache pages held by sequences.", pages);
        Gauge("sdar_kv_pages_total", "KV cache pages in the budget.", pageCount);
        Counter("sdar_engine_forwards_total", "Model forwards run by the engine.", totals.Forwards);
        Counter("sdar_engine_forward_tokens_total", "New tokens carried by those forwards (batch sizes: this over forwards).", totals.ForwardTokens);
        Counter("sdar_generated_tokens_total", "Answer tokens of finished sequences.", totals.GeneratedTokens);
        Counter("sdar_denoise_forwards_total", "Denoising forwards of finished sequences (tokens per forward: generated over this).", totals.DenoiseForwards);
        Counter("sdar_sequences_failed_total", "Sequences that ended with an error.", totals.Failed);
        Counter("sdar_preemptions_total", "Sequences whose KV pages were taken back for older ones.", totals.Preemptions);
        return text.ToString();

        void Gauge(string name, string help, long value)
        {
            Line($"# HELP {name} {help}");
            Line($"# TYPE {name} gauge");
            Line($"{name} {value}");
        }

        void Counter(string name, string help, long value)
        {
            Line($"# HELP {name} {help}");
            Line($"# TYPE {name} counter");
            Line($"{name} {value}");
        }
    }
}
