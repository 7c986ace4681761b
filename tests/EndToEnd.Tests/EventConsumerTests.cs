using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Consumers;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Hosting;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Named consumers of the event log (bookmarks, as evtstore's event handlers): every stored event in
/// position order, at least once, resumed from the saved bookmark after the relay restarts.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class EventConsumerTests(RelayFixture fixture)
{
    private sealed class Seen
    {
        public ConcurrentQueue<(long Position, string Id)> Events { get; } = new();
    }

    private static Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder> Consumer(Seen seen) => builder =>
        builder.Services.AddEventConsumer("test-projection", (stored, _) =>
        {
            seen.Events.Enqueue((stored.Position, stored.Event.Id));
            return Task.CompletedTask;
        });

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the consumer did not catch up");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task a_consumer_sees_every_event_in_order_and_resumes_from_its_bookmark_after_a_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-consumer-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var before = new List<SignedEvent>();
            for (var i = 0; i < 12; i++) before.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"before {i}"));
            var after = new List<SignedEvent>();
            for (var i = 0; i < 5; i++) after.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"after {i}"));

            var first = new Seen();
            long saved;
            await using (var relay = await RelayServer.StartAsync(data, Consumer(first)))
            {
                await using var client = await TestClient.ConnectAsync(relay.Url);
                foreach (var evt in before) Assert.True((await client.PublishAsync(evt)).Accepted);
                await WaitForAsync(() => first.Events.Count >= before.Count);
                var consumer = relay.Services.GetRequiredService<IGrainFactory>().GetGrain<IEventConsumerGrain>("test-projection");
                var last = first.Events.Max(e => e.Position);
                while ((saved = await consumer.GetPositionAsync()) < last) await Task.Delay(20);
            }
            Assert.Equal(before.Select(e => e.Id), first.Events.Select(e => e.Id));
            Assert.Equal(first.Events.Select(e => e.Position).Order(), first.Events.Select(e => e.Position));

            var second = new Seen();
            await using (var relay = await RelayServer.StartAsync(data, Consumer(second)))
            {
                await using var client = await TestClient.ConnectAsync(relay.Url);
                foreach (var evt in after) Assert.True((await client.PublishAsync(evt)).Accepted);
                await WaitForAsync(() => second.Events.Count >= after.Count);
            }
            Assert.Equal(after.Select(e => e.Id), second.Events.Select(e => e.Id));
            Assert.All(second.Events, e => Assert.True(e.Position > saved));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
