using System.Collections.Concurrent;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// A client holding one REQ open and counting every event it receives by id. When its connection drops it
/// does what a real client does: connects to the next relay URL and REQs again with <c>since</c> set to the
/// newest created_at it saw.
/// </summary>
internal sealed class LiveSubscriber : IAsyncDisposable
{
    /// <summary>The relay's max_limit (appsettings.json): the most stored events one REQ returns.</summary>
    private const int PageSize = 5000;
    private readonly object _filter;
    private readonly Uri[] _urls;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private TestClient? _client;
    private long _newest;

    public ConcurrentDictionary<string, int> Received { get; } = new(StringComparer.Ordinal);
    public int Reconnects { get; private set; }

    private LiveSubscriber(object filter, Uri[] urls, TestClient client)
    {
        _filter = filter;
        _urls = urls;
        _client = client;
        _running = Task.Run(RunAsync);
    }

    /// <summary>Connects to the first URL and returns once the REQ's EOSE arrived.</summary>
    public static async Task<LiveSubscriber> StartAsync(object filter, params Uri[] urls)
    {
        var client = await TestClient.ConnectAsync(urls[0]);
        await client.QueryAsync("live", filter);
        return new LiveSubscriber(filter, urls, client);
    }

    private async Task RunAsync()
    {
        var next = 1;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var frame = await _client!.NextAsync(TimeSpan.FromHours(1)).WaitAsync(_stop.Token);
                if (Frames.Is(frame, "EVENT") && Frames.IsFor(frame, "live")) Count(frame[2]);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // The relay went away: resume on the next one from the newest event seen.
                await _client!.DisposeAsync();
                _client = null;
                while (_client is null && !_stop.IsCancellationRequested)
                {
                    try
                    {
                        var client = await TestClient.ConnectAsync(_urls[next++ % _urls.Length]);
                        var since = Interlocked.Read(ref _newest);
                        var resumed = JsonSerializer.SerializeToElement(_filter).EnumerateObject()
                            .ToDictionary(p => p.Name, p => (object)p.Value);
                        resumed["since"] = since;
                        resumed["limit"] = PageSize;
                        var page = await client.QueryAsync("live", resumed);
                        foreach (var stored in page) Count(stored);
                        // More than a page came meanwhile: page back with until, as NIP-01 clients do.
                        for (var pages = 1; page.Count == PageSize && pages < 20; pages++)
                        {
                            resumed["until"] = page.Min(e => e.GetProperty("created_at").GetInt64());
                            page = await client.QueryAsync($"back{pages}", resumed);
                            await client.SendAsync(Frames.Close($"back{pages}"));
                            foreach (var stored in page) Count(stored);
                        }
                        _client = client;
                        Reconnects++;
                    }
                    catch (Exception) when (!_stop.IsCancellationRequested)
                    {
                        await Task.Delay(200);
                    }
                }
            }
        }
    }

    private void Count(JsonElement evt)
    {
        Received.AddOrUpdate(evt.GetProperty("id").GetString()!, 1, (_, n) => n + 1);
        var createdAt = evt.GetProperty("created_at").GetInt64();
        long seen;
        while ((seen = Interlocked.Read(ref _newest)) < createdAt && Interlocked.CompareExchange(ref _newest, createdAt, seen) != seen) { }
    }

    /// <summary>Waits until every id in <paramref name="expected"/> arrived, or the timeout passed.</summary>
    public async Task<bool> WaitForAsync(IReadOnlyCollection<string> expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (expected.All(Received.ContainsKey)) return true;
            await Task.Delay(100);
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _running;
        if (_client is not null) await _client.DisposeAsync();
    }
}
