using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Protocol;
using NostrRelay.Streaming;
using Orleans.Hosting;
using Orleans.Streams;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// The relay with <c>Relay:EventLogStreams:Enabled</c>: an Orleans client of its silo subscribes to the log's per-kind
/// stream from position 1 and gets the events nostr-tools published over the WebSocket, in log order, with their
/// positions as tokens, and none of another kind.
/// </summary>
public sealed class EventLogStreamRelayTests : IAsyncLifetime
{
    private readonly NostrTools _tools = NostrTools.Start();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _tools.DisposeAsync();

    [Fact]
    public async Task an_orleans_client_follows_what_clients_publish_on_the_log_stream()
    {
        var gatewayPort = FreePort.Next();
        await using var relay = await RelayServer.StartAsync(
            "Relay:EventLogStreams:Enabled=true", "Relay:EventLogStreams:PollPeriod=00:00:00.020", $"Orleans:Endpoints:GatewayPort={gatewayPort}");

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort, "nostr-relay", $"e2e-{relay.Port}").AddEventLogStreams());
        using var host = builder.Build();
        await host.StartAsync();
        var received = new ConcurrentQueue<(long Position, string Id)>();
        var stream = host.Services.GetRequiredService<IClusterClient>().GetStreamProvider(EventLogStreams.ProviderName).GetStream<NostrEvent>(EventLogStreams.OfKind(1));
        var handle = await stream.SubscribeAsync((NostrEvent evt, StreamSequenceToken? token) =>
        {
            received.Enqueue((EventLogStreams.PositionOf(token!), evt.Id));
            return Task.CompletedTask;
        }, EventLogStreams.From(1));

        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        var alice = NostrTools.NewSecretKey();
        var published = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var note = await _tools.SignAsync(alice, i == 2 ? 7 : 1, $"note {i}");
            Assert.Equal((true, ""), await publisher.PublishAsync(note));
            if (i != 2) published.Add(note.Id);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (received.Count < published.Count && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(200);   // anything more (a repeat, the kind 7) would come now
        var got = received.ToList();
        Assert.Equal(published, got.Select(r => r.Id));
        Assert.True(got.Zip(got.Skip(1)).All(pair => pair.First.Position < pair.Second.Position), "positions rise in log order");

        await handle.UnsubscribeAsync();
        await host.StopAsync();
    }
}
