using System.Net;
using System.Text;
using System.Text.Json;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Server;

namespace Sdar.Tests.Serving;

/// <summary>A server with a KV budget of 256 positions (8 running answers of up to ~100 need more: preemptions) over the bundled model.</summary>
public sealed class LoadServerFixture : ServerFixture
{
    protected override string ModelDir => BundledModels.Locate();
    protected override EngineOptions EngineOptions => new() { KvCacheTokens = 256, PageSize = 16, MaxRunningSequences = 8 };
}

public sealed class ServerLoadTests(LoadServerFixture fixture) : IClassFixture<LoadServerFixture>
{
    private static string Body(int i) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model"] = "sdar-mini",
        ["messages"] = new[] { new { role = "user", content = $"What is {i * 37 + 5} + {i * 11 + 3}?" } },
        ["max_tokens"] = 24 + 8 * (i % 5),
        ["temperature"] = 0,
        ["block_length"] = i % 3 == 0 ? 2 : 4,
    });

    private async Task<string?> Post(string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(fixture.Server.Url + "/v1/chat/completions", content, cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        var choice = json.RootElement.GetProperty("choices")[0];
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("finish_reason").GetString()));
        return choice.GetProperty("message").GetProperty("content").GetString();
    }

    [Fact]
    public async Task Sixteen_clients_with_mixed_lengths_and_block_lengths_some_cancelling_each_get_their_answer_alone()
    {
        var host = fixture.Server.Host;
        var clients = Enumerable.Range(0, 16).Select(async i =>
        {
            using var cancel = new CancellationTokenSource();
            if (i % 4 == 3) cancel.CancelAfter(TimeSpan.FromMilliseconds(30 + 10 * i));   // a client that gives up midway
            try
            {
                return (i, await Post(Body(i), cancel.Token));
            }
            catch (OperationCanceledException) when (i % 4 == 3)
            {
                return (i, (string?)null);
            }
        }).ToArray();
        var answers = await Task.WhenAll(clients);
        Assert.True(answers.Count(a => a.Item2 is not null) >= 12);

        // The same requests one at a time, on an idle server: token for token the same answers.
        foreach (var (i, answer) in answers.Where(a => a.Item2 is not null))
            Assert.Equal(await Post(Body(i), CancellationToken.None), answer);

        for (int wait = 0; wait < 200 && (fixture.Server.Pending > 0 || host.Snapshot.PagesInUse > 0); wait++) await Task.Delay(20);
        Assert.Equal(0, fixture.Server.Pending);
        var pool = host.Engine.KvPool;
        Assert.Equal(pool.PageCount, pool.FreePageCount);          // every page came back
        Assert.True(pool.PeakUsedPageCount <= pool.PageCount);    // and the budget was never exceeded
        Assert.True(pool.MaterialisedPageCount <= pool.PageCount);
        Assert.True(host.Engine.Scheduler.Preemptions > 0, "the budget was meant to force preemptions");

        // /metrics tells the same story in the Prometheus text format.
        string metrics = await fixture.Http.GetStringAsync(fixture.Server.Url + "/metrics");
        long Value(string name) => long.Parse(metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        int completed = answers.Count(a => a.Item2 is not null);
        Assert.True(Value("sdar_requests_total{route=\"/v1/chat/completions\",status=\"200\"}") >= 2 * completed);
        Assert.Equal(0, Value("sdar_kv_pages_used"));
        Assert.Equal(pool.PageCount, Value("sdar_kv_pages_total"));
        Assert.True(Value("sdar_preemptions_total") > 0);
        Assert.True(Value("sdar_generated_tokens_total") > 0);
        Assert.True(Value("sdar_engine_forward_tokens_total") > Value("sdar_engine_forwards_total"));
        Assert.True(Value("sdar_request_duration_seconds_count") >= 2 * completed);
    }
}
