using NostrRelay.Benchmarks.Client;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Live subscribers held open on one gateway while a cluster ingests: each follows a few of the ingest's authors, as a
/// client's home feed does, so the cluster has somewhere to send a tenth of the events and nowhere to send the rest.
/// </summary>
internal sealed class IngestFollowers : IAsyncDisposable
{
    private readonly List<RelayClient> _clients = [];
    private readonly List<Task> _readers = [];
    private readonly CancellationTokenSource _stop = new();
    private long _received;

    /// <summary>EVENT frames received so far, over all followers.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Opens <paramref name="connections"/> followers, each REQ naming its share of <paramref name="authors"/>, and waits for every EOSE.</summary>
    public static async Task<IngestFollowers> OpenAsync(Uri gateway, string[] authors, int connections, long since, CancellationToken cancellationToken)
    {
        var followers = new IngestFollowers();
        var perConnection = authors.Length / connections;
        for (var c = 0; c < connections; c++)
        {
            var client = await RelayClient.ConnectAsync(gateway, TimeSpan.FromSeconds(10), cancellationToken);
            followers._clients.Add(client);
            var followed = string.Join(",", authors.Skip(c * perConnection).Take(perConnection).Select(a => $"\"{a}\""));
            await client.SendAsync(ClientFrames.Req("follows", $"{{\"authors\":[{followed}],\"since\":{since}}}"), cancellationToken);
            while (true)
            {
                var frame = await client.ReceiveAsync(cancellationToken);
                if (Reply.IsAuthChallenge(frame.Span)) continue;
                var kind = Reply.Read(frame.Span).Kind;
                if (kind == ReplyKind.EndOfStoredEvents) break;
                if (kind is ReplyKind.Closed or ReplyKind.Notice) throw new InvalidOperationException("a follower's REQ was refused");
            }
            followers._readers.Add(followers.CountAsync(client));
        }
        return followers;
    }

    private async Task CountAsync(RelayClient client)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var frame = await client.ReceiveAsync(_stop.Token);
                if (!Reply.IsAuthChallenge(frame.Span) && Reply.Read(frame.Span).Kind == ReplyKind.Event) Interlocked.Increment(ref _received);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
    }

    /// <summary>Waits up to <paramref name="patience"/> for <paramref name="expected"/> deliveries; answers how many came.</summary>
    public async Task<long> WaitForAsync(long expected, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (Received < expected && DateTime.UtcNow < deadline) await Task.Delay(20);
        return Received;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var client in _clients) await client.DisposeAsync();
        try { await Task.WhenAll(_readers); }
        catch (Exception) { }
    }
}
