using System.Security.Cryptography;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;
using Xunit.Abstractions;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// Real processes on loopback: three silos (each with its co-hosted gateway) and one gateway-only process,
/// clustering and storing on the test PostgreSQL. Clients publish and subscribe on different gateways,
/// then one silo is killed with SIGKILL while they carry on.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task events_published_on_one_gateway_reach_subscribers_on_every_other_gateway_once()
    {
        using var cluster = new ClusterDeployment();
        var a = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();
        var lanes = new[] { new PublishingLane("a", [a.Url], 3), new PublishingLane("g", [gateway.Url], 3) };
        var filter = new { authors = lanes.SelectMany(l => l.Pubkeys).ToArray() };
        await using var onA = await LiveSubscriber.StartAsync(filter, a.Url);
        await using var onB = await LiveSubscriber.StartAsync(filter, b.Url);
        await using var onGateway = await LiveSubscriber.StartAsync(filter, gateway.Url);

        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
            await Task.WhenAll(lanes.Select(l => l.RunAsync(stop.Token)));

        var acknowledged = lanes.SelectMany(l => l.Acknowledged).ToHashSet();
        Assert.True(acknowledged.Count > 50, $"only {acknowledged.Count} events acknowledged");
        foreach (var subscriber in new[] { onA, onB, onGateway })
        {
            Assert.True(await subscriber.WaitForAsync(acknowledged, TimeSpan.FromSeconds(15)));
            Assert.Equal(acknowledged.Count, subscriber.Received.Count);
            Assert.All(subscriber.Received.Values, count => Assert.Equal(1, count));
        }
    }

    [Fact]
    public async Task a_silo_killed_under_load_loses_no_acknowledged_event_and_other_subscribers_see_each_once()
    {
        using var cluster = new ClusterDeployment();
        var doomed = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var c = await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();

        var lanes = new[]
        {
            new PublishingLane("on-doomed", [doomed.Url, b.Url], 4),
            new PublishingLane("on-b", [b.Url], 4),
            new PublishingLane("on-gateway", [gateway.Url], 4),
        };
        var filter = new { authors = lanes.SelectMany(l => l.Pubkeys).ToArray() };
        await using var onDoomed = await LiveSubscriber.StartAsync(filter, doomed.Url, gateway.Url);
        await using var onB = await LiveSubscriber.StartAsync(filter, b.Url);
        await using var onC = await LiveSubscriber.StartAsync(filter, c.Url);
        await using var onGateway = await LiveSubscriber.StartAsync(filter, gateway.Url);

        using var stop = new CancellationTokenSource();
        var publishing = Task.WhenAll(lanes.Select(l => l.RunAsync(stop.Token)));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var beforeKill = lanes.Sum(l => l.Acknowledged.Count);
        var killedAt = lanes.Select(l => l.AcknowledgedAt.LastOrDefault()).Max();
        doomed.Process.Kill();
        await Task.Delay(TimeSpan.FromSeconds(12));
        stop.Cancel();
        await publishing;

        var acknowledged = lanes.SelectMany(l => l.Acknowledged).ToHashSet();
        var afterKill = acknowledged.Count - beforeKill;
        foreach (var lane in lanes)
            output.WriteLine($"lane {lane.Name}: {lane.Acknowledged.Count} acknowledged, {lane.Refused} refused, {lane.Unanswered} unanswered, longest pause {LongestPause(lane)} ms");
        Assert.True(afterKill > 100, $"the cluster served only {afterKill} events after the kill");
        Assert.All(lanes, lane => Assert.Contains(lane.AcknowledgedAt, at => at > killedAt + 1000));   // every lane publishes again

        foreach (var (name, subscriber) in new[] { ("b", onB), ("c", onC), ("gateway", onGateway) })
        {
            var complete = await subscriber.WaitForAsync(acknowledged, TimeSpan.FromSeconds(20));
            var missing = acknowledged.Count(id => !subscriber.Received.ContainsKey(id));
            var repeated = subscriber.Received.Count(p => p.Value > 1);
            output.WriteLine($"subscriber on {name}: {subscriber.Received.Count} received, {missing} missing, {repeated} repeated");
            Assert.True(complete, $"subscriber on {name} is missing {missing} acknowledged events");
            Assert.Equal(0, repeated);
        }
        // The killed silo's own subscriber reconnects to the gateway and catches up with since: nothing lost.
        Assert.True(await onDoomed.WaitForAsync(acknowledged, TimeSpan.FromSeconds(20)),
            $"the reconnected subscriber is missing {acknowledged.Count(id => !onDoomed.Received.ContainsKey(id))} events");
        Assert.True(onDoomed.Reconnects >= 1);
    }

    [Fact]
    public async Task a_gateway_only_process_lets_go_of_calls_through_a_killed_silo_without_waiting_for_their_timeout()
    {
        // A response timeout far longer than a failover: a call the gateway waited out would stall its lane for a minute.
        using var cluster = new ClusterDeployment { Settings = { "--Orleans:ResponseTimeout=00:01:00" } };
        var doomed = await cluster.StartSiloAsync();
        await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();
        // Several lanes, so several calls are in flight at the kill: the client sends each grain's calls through one
        // gateway, and only those through the killed silo's would wait out the timeout.
        var lanes = Enumerable.Range(0, 6).Select(i => new PublishingLane($"on-gateway-{i}", [gateway.Url], 3)).ToArray();

        using var stop = new CancellationTokenSource();
        var publishing = Task.WhenAll(lanes.Select(l => l.RunAsync(stop.Token)));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var killedAt = lanes.Select(l => l.AcknowledgedAt.LastOrDefault()).Max();
        doomed.Process.Kill();
        await Task.Delay(TimeSpan.FromSeconds(12));
        stop.Cancel();
        await publishing;

        foreach (var lane in lanes)
        {
            var afterKill = lane.AcknowledgedAt.Where(at => at >= killedAt).Prepend(killedAt).ToList();
            var longest = afterKill.Zip(afterKill.Skip(1)).Select(pair => pair.Second - pair.First).DefaultIfEmpty(0).Max();
            output.WriteLine($"lane {lane.Name}: {lane.Acknowledged.Count} acknowledged, {lane.Refused} refused, {lane.Unanswered} unanswered, longest pause after the kill {longest} ms");
            Assert.Equal(0, lane.Unanswered);
            Assert.True(longest < 8_000, $"lane {lane.Name} paused {longest} ms after the kill");
            Assert.Contains(lane.AcknowledgedAt, at => at > killedAt + 8_000);
        }
    }

    [Fact]
    public async Task a_gateway_only_process_answers_REQs_and_COUNTs_caught_on_a_killed_silo_without_waiting_for_their_timeout()
    {
        // Eight shards, so the REQs of the eight lanes go to eight subscription grains, whose calls the client spreads
        // over both silos' gateways; a call through the killed one would wait out the minute.
        using var cluster = new ClusterDeployment { Settings = { "--Orleans:ResponseTimeout=00:01:00", "--Relay:Shards=8" } };
        var doomed = await cluster.StartSiloAsync();
        await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();
        var lanes = Enumerable.Range(0, 8).Select(i => new QueryingLane($"reader-{i}", gateway.Url)).ToArray();

        using var stop = new CancellationTokenSource();
        var asking = Task.WhenAll(lanes.Select(l => l.RunAsync(stop.Token)));
        await Task.Delay(TimeSpan.FromSeconds(3));
        doomed.Process.Kill();
        var killedAfter = lanes.Select(l => l.Answers.LastOrDefault().Answered).Max();
        await Task.Delay(TimeSpan.FromSeconds(12));
        stop.Cancel();
        await asking;

        foreach (var lane in lanes)
        {
            var answers = lane.Answers.ToArray();
            var slowest = answers.Max(a => a.Answered - a.Asked);
            var closed = answers.Where(a => a.Answer == "CLOSED").ToArray();
            output.WriteLine($"lane {lane.Name}: {answers.Length} answers, {closed.Length} CLOSED, {lane.Unanswered} unanswered, slowest {slowest} ms");
            Assert.Equal(0, lane.Unanswered);
            Assert.True(slowest < 8_000, $"lane {lane.Name} waited {slowest} ms for an answer");
            // Carries on once the failover is over: EOSEs and COUNTs again, not CLOSED.
            Assert.Contains(answers, a => a.Answer == "EOSE" && a.Asked > killedAfter + 8_000);
            Assert.Contains(answers, a => a.Answer == "COUNT" && a.Asked > killedAfter + 8_000);
        }
    }

    [Fact]
    public async Task a_gateway_only_process_resumes_lost_shards_with_an_event_signed_long_before_and_stored_while_they_were_gone()
    {
        // Eight shards, which the client spreads over both silos: the killed one holds some of them.
        using var cluster = new ClusterDeployment { Settings = { "--Relay:Shards=8" } };
        var doomed = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();
        var key = RandomNumberGenerator.GetBytes(32);
        var filter = new { authors = new[] { NativeSchnorrSigner.Shared.PublicKeyHex(key) } };
        // One subscriber per shard: the gateway gives its connections to the shards in turn.
        var subscribers = new List<LiveSubscriber>();
        for (var i = 0; i < 8; i++) subscribers.Add(await LiveSubscriber.StartAsync(filter, gateway.Url));
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var first = NativeSchnorrSigner.Shared.Sign(key, now, 1, [], "before the kill");
            await PublishUntilStoredAsync(b.Url, first);
            foreach (var subscriber in subscribers) Assert.True(await subscriber.WaitForAsync([first.Id], TimeSpan.FromSeconds(15)));
            await Task.Delay(TimeSpan.FromSeconds(3));   // the position each shard vouched for settles at the gateway

            doomed.Process.Kill();
            // Stored while the killed silo's shards are gone; one signed an hour before the newest the clients have.
            var signedLongAgo = NativeSchnorrSigner.Shared.Sign(key, now - 3600, 1, [], "signed an hour ago");
            var after = NativeSchnorrSigner.Shared.Sign(key, now + 1, 1, [], "after the kill");
            await PublishUntilStoredAsync(b.Url, signedLongAgo);
            await PublishUntilStoredAsync(b.Url, after);

            string[] expected = [first.Id, signedLongAgo.Id, after.Id];
            for (var i = 0; i < subscribers.Count; i++)
            {
                var subscriber = subscribers[i];
                var complete = await subscriber.WaitForAsync(expected, TimeSpan.FromSeconds(45));
                output.WriteLine($"subscriber {i}: {string.Join(", ", expected.Select(id => subscriber.Received.GetValueOrDefault(id)))}");
                Assert.True(complete, $"subscriber {i} is missing {expected.Count(id => !subscriber.Received.ContainsKey(id))} of the 3 events");
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.All(subscribers, subscriber => Assert.All(expected, id => Assert.Equal(1, subscriber.Received[id])));
            // The test is about shards that were lost: the gateway resumed some.
            Assert.Contains("resumed 1 subscriptions", gateway.Process.Log);
        }
        finally
        {
            foreach (var subscriber in subscribers) await subscriber.DisposeAsync();
        }
    }

    /// <summary>Publishes until the relay stores the event (or says it has it): during a failover an attempt can fail.</summary>
    private static async Task PublishUntilStoredAsync(Uri url, NostrRelay.Protocol.NostrEvent evt)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await using var client = await TestClient.ConnectAsync(url);
                var (accepted, _) = await client.PublishRawAsync(evt.Id, $"[\"EVENT\",{Encoding.UTF8.GetString(evt.Json)}]");
                if (accepted) return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"the relay did not store {evt.Id} within a minute");
            await Task.Delay(500);
        }
    }

    private static long LongestPause(PublishingLane lane)
    {
        long longest = 0, previous = 0;
        foreach (var at in lane.AcknowledgedAt)
        {
            longest = Math.Max(longest, at - previous);
            previous = at;
        }
        return longest;
    }
}
