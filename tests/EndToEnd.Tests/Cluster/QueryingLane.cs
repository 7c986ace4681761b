using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// One client asking, one question at a time, what a reader asks: a REQ until its EOSE, its CLOSE, then a COUNT.
/// Each answer is timed from its question; answers that take longer than a minute count as unanswered.
/// </summary>
internal sealed class QueryingLane(string name, Uri url)
{
    public string Name { get; } = name;

    /// <summary>(asked, answered) in milliseconds since the lane started, and what answered ("EOSE", "COUNT", "CLOSED").</summary>
    public ConcurrentQueue<(long Asked, long Answered, string Answer)> Answers { get; } = new();
    public int Unanswered { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        await using var client = await TestClient.ConnectAsync(url);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var query = $"{Name}-q{i}";
            await AskAsync(client, clock, query, Frames.Req(query, new { kinds = new[] { 1 }, limit = 5 }), "EOSE");
            await client.SendAsync(Frames.Close(query));
            var count = $"{Name}-c{i}";
            await AskAsync(client, clock, count, JsonSerializer.Serialize(new object[] { "COUNT", count, new { kinds = new[] { 1 } } }), "COUNT");
            await Task.Delay(5, CancellationToken.None);
        }
    }

    private async Task AskAsync(TestClient client, Stopwatch clock, string id, string frame, string expected)
    {
        var asked = clock.ElapsedMilliseconds;
        await client.SendAsync(frame);
        try
        {
            var answer = await client.ExpectAsync(f => (Frames.Is(f, expected) || Frames.Is(f, "CLOSED")) && f[1].GetString() == id, TimeSpan.FromMinutes(1));
            Answers.Enqueue((asked, clock.ElapsedMilliseconds, answer[0].GetString()!));
        }
        catch (OperationCanceledException)
        {
            Unanswered++;
        }
    }
}
