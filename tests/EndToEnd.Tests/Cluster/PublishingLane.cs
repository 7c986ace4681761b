using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// One client publishing signed notes for its own authors, one at a time, and keeping the ids the relay
/// acknowledged with OK true. When its relay goes away it reconnects to the next URL and carries on with
/// the same authors, as a real client would.
/// </summary>
internal sealed class PublishingLane(string name, Uri[] urls, int authors)
{
    private readonly byte[][] _keys = Enumerable.Range(0, authors).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();

    public string Name { get; } = name;
    public string[] Pubkeys => _keys.Select(NativeSchnorrSigner.Shared.PublicKeyHex).ToArray();
    public ConcurrentBag<string> Acknowledged { get; } = [];
    /// <summary>Milliseconds since the lane started, of every OK true: gaps show how long publishing stalled.</summary>
    public ConcurrentQueue<long> AcknowledgedAt { get; } = new();
    public int Refused { get; private set; }
    public int Unanswered { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var next = 0;
        TestClient? client = null;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                client ??= await TestClient.ConnectAsync(urls[next % urls.Length]);
            }
            catch (Exception)
            {
                next++;
                await Task.Delay(200, CancellationToken.None);
                continue;
            }
            var evt = NativeSchnorrSigner.Shared.Sign(_keys[i % _keys.Length], DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 1, [], $"{Name} {i}");
            try
            {
                var (accepted, _) = await client.PublishRawAsync(evt.Id, $"[\"EVENT\",{Encoding.UTF8.GetString(evt.Json)}]");
                if (accepted)
                {
                    Acknowledged.Add(evt.Id);
                    AcknowledgedAt.Enqueue(clock.ElapsedMilliseconds);
                }
                else Refused++;   // "error: ... try again": not stored, and the client knows it
            }
            catch (OperationCanceledException)
            {
                Unanswered++;     // no OK in time: the client cannot know, and nothing is asserted about it
            }
            catch (Exception)
            {
                Unanswered++;
                await client.DisposeAsync();
                client = null;
                next++;
            }
            await Task.Delay(5, CancellationToken.None);
        }
        if (client is not null) await client.DisposeAsync();
    }
}
