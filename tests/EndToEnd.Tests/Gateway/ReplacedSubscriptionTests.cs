using NostrRelay.Connections;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.EndToEnd.Tests.Gateway;

/// <summary>
/// NIP-01: a REQ replaces the open subscription of its id, and a CLOSE ends it. What the subscription grain had built for
/// the earlier REQ before it took the later call can still be on its way to the gateway; it must not reach the client as
/// the later REQ's (events of the earlier filter, its EOSE before the later one's stored events, its CLOSED). The grain
/// here sends its batches in the order a test chooses (<see cref="GatewayHarness"/>).
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class ReplacedSubscriptionTests(RelayFixture fixture)
{
    private static readonly NostrEvent Note = GatewayHarness.Event(1, kind: 1);
    private static readonly NostrEvent Reaction = GatewayHarness.Event(2, kind: 7);

    [Fact]
    public async Task what_the_earlier_req_of_an_id_was_sent_after_a_later_one_replaced_it_goes_nowhere()
    {
        var (grain, activation, shard, connection, sent) = Start("replaced", 7);

        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [1] }]);
        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [7] }]);
        var (earlier, later) = (grain.Subscribed[0], grain.Subscribed[1]);
        Assert.NotEqual(earlier, later);
        Assert.Equal([earlier], grain.Unsubscribed);   // taken off the grain once the later one is on it

        // Built by the grain before it took the later REQ, handed to the gateway after.
        await shard.DeliverAsync(new DeliveryBatch(
            [Delivery.ForEvent(7, earlier, Note), Delivery.EndOfStoredEvents(7, earlier), Delivery.Closed(7, earlier, "error: the earlier one")], activation, 1));
        await shard.DeliverAsync(new DeliveryBatch([Delivery.ForEvent(7, later, Reaction), Delivery.EndOfStoredEvents(7, later)], activation, 2));

        var frames = await sent.AtLeastAsync(2);
        await Task.Delay(100);
        Assert.Equal([$"""["EVENT","feed",{Json(Reaction)}]""", """["EOSE","feed"]"""], sent.Read());
        Assert.Equal(2, frames.Length);
    }

    [Fact]
    public async Task a_req_that_opens_a_closed_id_again_gets_nothing_of_the_closed_one()
    {
        var (grain, activation, shard, connection, sent) = Start("reopened", 8);

        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [1] }]);
        await connection.Subscriptions.CloseAsync("feed");
        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [7] }]);
        var (closed, reopened) = (grain.Subscribed[0], grain.Subscribed[1]);
        Assert.Equal([closed], grain.Unsubscribed);

        await shard.DeliverAsync(new DeliveryBatch([Delivery.ForEvent(8, closed, Note), Delivery.EndOfStoredEvents(8, closed)], activation, 1));
        await shard.DeliverAsync(new DeliveryBatch([Delivery.EndOfStoredEvents(8, reopened), Delivery.ForEvent(8, reopened, Reaction)], activation, 2));

        await sent.AtLeastAsync(2);
        await Task.Delay(100);
        Assert.Equal(["""["EOSE","feed"]""", $"""["EVENT","feed",{Json(Reaction)}]"""], sent.Read());
    }

    [Fact]
    public async Task a_client_id_holding_the_key_separator_is_told_apart_from_a_later_req_of_a_shorter_id()
    {
        var (grain, activation, shard, connection, sent) = Start("separator", 9);

        await connection.Subscriptions.OpenAsync("a#2", [new Filter { Kinds = [1] }]);   // named "a#2#1" on the grain
        await connection.Subscriptions.OpenAsync("a", [new Filter { Kinds = [7] }]);     // named "a#2"
        Assert.Equal(["a#2#1", "a#2"], grain.Subscribed);

        await shard.DeliverAsync(new DeliveryBatch([Delivery.EndOfStoredEvents(9, "a#2"), Delivery.ForEvent(9, "a#2#1", Note)], activation, 1));

        await sent.AtLeastAsync(2);
        await Task.Delay(100);
        Assert.Equal(["""["EOSE","a"]""", $"""["EVENT","a#2",{Json(Note)}]"""], sent.Read());
    }

    [Fact]
    public async Task a_req_whose_call_failed_is_closed_and_taken_off_the_grain_which_may_have_taken_it()
    {
        var (grain, activation, shard, connection, sent) = Start("failed", 10, failingSubscribes: 1);

        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [1] }]);
        Assert.Equal(["""["CLOSED","feed","error: could not open the subscription; try again"]"""], await sent.AtLeastAsync(1));
        // Under the REQ's own name, no later REQ of the id would replace it on the grain: it would match on for nothing.
        Assert.Equal(grain.Subscribed, grain.Unsubscribed);

        await connection.Subscriptions.OpenAsync("feed", [new Filter { Kinds = [1] }]);   // the client tries again
        await shard.DeliverAsync(new DeliveryBatch([Delivery.EndOfStoredEvents(10, grain.Subscribed[0]), Delivery.EndOfStoredEvents(10, grain.Subscribed[1])], activation, 1));
        await sent.AtLeastAsync(2);
        await Task.Delay(100);
        Assert.Equal(["""["CLOSED","feed","error: could not open the subscription; try again"]""", """["EOSE","feed"]"""], sent.Read());
        Assert.Single(grain.Unsubscribed);
    }

    /// <summary>A gateway shard on one grain activation that records its calls, and one connection to it.</summary>
    private (CallRecordingGrain Grain, Guid Activation, GatewayShard Shard, RelayConnection Connection, SentFrames Sent) Start(
        string name, long connectionId, int failingSubscribes = 0)
    {
        var grain = new CallRecordingGrain { FailingSubscribes = failingSubscribes };
        var activation = Guid.NewGuid();
        var shard = new GatewayShard(name + "/0", grain) { Activation = activation };
        var (connection, sent) = GatewayHarness.Connect(fixture, shard, connectionId);
        return (grain, activation, shard, connection, sent);
    }

    private static string Json(NostrEvent evt) => System.Text.Encoding.UTF8.GetString(evt.Json);
}
