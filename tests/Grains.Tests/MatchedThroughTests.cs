using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// The store position a shard vouches for in its batches (<see cref="DeliveryBatch.Through"/>): every live event at or
/// below it was matched and what it matched handed on, so a resume after the shard is lost reads the log past it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MatchedThroughTests(ClusterFixture fixture)
{
    [Fact]
    public async Task a_shard_vouches_for_what_it_matched_and_a_check_in_carries_it_when_nothing_matched()
    {
        var (shard, observer, checkIn) = await AttachAsync("through");
        var author = new Author();
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Kinds = [1], Limit = 0 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        await shard.PublishAsync(new EventBatch([new LiveEvent(author.Note("one", createdAt: now), 1, At(501))]));
        Assert.Equal(DeliveryKind.Event, (await observer.NextAsync()).Kind);
        Assert.True(await observer.VouchedForAsync(At(501), checkIn));

        // A reaction: the author's, so it reaches the shard, but the REQ wants notes. Nothing is sent for it, and a
        // check-in still tells the gateway the shard has matched through it.
        await shard.PublishAsync(new EventBatch([new LiveEvent(author.Note("+", createdAt: now + 1, kind: 7), 2, At(502))]));
        Assert.True(await observer.VouchedForAsync(At(502), checkIn));
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task a_resume_that_names_no_position_leaves_the_shard_vouching_again_once_it_has_caught_up()
    {
        var (shard, observer, checkIn) = await AttachAsync("through-catch-up");
        var author = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        await shard.SubscribeAsync(1, "first", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);
        await shard.PublishAsync(new EventBatch([new LiveEvent(author.Note("one", createdAt: now), 1, At(601))]));
        Assert.Equal("one", (await observer.NextAsync()).Event!.Content);
        Assert.True(await observer.VouchedForAsync(At(601), checkIn));

        // A resume whose point names no position (an older gateway) reads by created_at only: while it reads, the
        // shard vouches for nothing at all; once what it buffered is handed on, for everything again.
        var resumed = new Author();
        await shard.ResumeAsync(2, "resumed", [new Filter { Authors = [resumed.Pubkey] }], new ResumePoint(now - 30, []));
        await shard.PublishAsync(new EventBatch([new LiveEvent(author.Note("two", createdAt: now + 1), 2, At(602))]));
        Assert.Equal("two", (await observer.NextAsync()).Event!.Content);
        Assert.True(await observer.VouchedForAsync(At(602), checkIn));
    }

    [Fact]
    public async Task a_req_held_back_by_a_slow_client_does_not_hold_back_what_the_shard_vouches_for_and_lowers_it_when_it_ends()
    {
        var observer = new BackloggedObserver();
        var shard = fixture.Cluster.Client.GetGrain<ISubscriptionGrain>($"through-slow-{Guid.NewGuid():N}/0");
        var reference = fixture.Cluster.Client.CreateObjectReference<IGatewayShardObserver>(observer);
        await shard.AttachAsync(reference);
        var (stored, _) = await fixture.StoredNotesAsync(1_000);
        var live = new Author();
        await shard.SubscribeAsync(2, "live", [new Filter { Authors = [live.Pubkey], Limit = 0 }]);
        await observer.Inner.UntilEndOfStoredEventsAsync("live");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        await shard.PublishAsync(new EventBatch([new LiveEvent(live.Note("one", createdAt: now), 1, At(901))]));
        Assert.True(await observer.Inner.VouchedForAsync(At(901), () => shard.AttachAsync(reference)));

        // Connection 1 reads slowly: its REQ gets one page of stored events and waits.
        await shard.SubscribeAsync(1, "slow", [new Filter { Authors = [stored.Pubkey], Limit = 1_000 }]);
        var page = new List<Delivery>();
        while (await observer.Inner.NextOrNothingAsync(TimeSpan.FromSeconds(1)) is { } delivery) page.Add(delivery);
        Assert.Equal(256, page.Count(d => d.SubscriptionId == "slow" && d.Kind == DeliveryKind.Event));
        Assert.DoesNotContain(page, d => d.Kind == DeliveryKind.EndOfStoredEvents);
        await shard.PublishAsync(new EventBatch([new LiveEvent(live.Note("two", createdAt: now + 1), 2, At(902))]));
        Assert.Equal("two", (await observer.Inner.NextAsync()).Event!.Content);
        Assert.True(await observer.Inner.VouchedForAsync(At(902), () => shard.AttachAsync(reference)));

        // Live events for the slow REQ wait in its buffer; they were matched, and nothing else waits for them.
        var buffered = Enumerable.Range(1, 1_000).Select(i => new LiveEvent(stored.Note($"live {i}", createdAt: now + 2), 1_000 + i, At(1_000 + i))).ToArray();
        await shard.PublishAsync(new EventBatch(buffered));
        observer.Behind = false;
        await shard.DrainedAsync(1, 1);
        var rest = new List<Delivery>();
        while (rest.Count(d => d.SubscriptionId == "slow") < 1_000 - 256 + 1 + 1_000) rest.Add(await observer.Inner.NextAsync());
        Assert.Equal(1_000, rest.Count(d => d.Kind == DeliveryKind.Event && d.Event!.Content.StartsWith("live ", StringComparison.Ordinal)));

        // Its last page, its EOSE and its buffer went out in more than one batch: the one with the EOSE vouched only for
        // where the REQ started, and the one with the rest of the buffer for all of it.
        var throughs = observer.Inner.Throughs;
        var withEnd = Array.FindIndex(throughs, t => t.EndsOfStoredEvents.Contains("slow"));
        Assert.Equal(At(901), throughs[withEnd].Through);   // what the shard had matched when the REQ came
        Assert.Equal(At(2_000), throughs[^1].Through);
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);
    }

    [Fact]
    public async Task a_resume_from_a_position_brings_an_event_stored_past_it_whatever_its_created_at()
    {
        var (shard, observer, _) = await AttachAsync("through-resume");
        var author = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var client = fixture.Cluster.Client;
        var streams = client.GetGrain<IAuthorStreamGrain>(author.Pubkey);
        var seen = author.Note("seen", createdAt: now);
        var seenAt = (await streams.AppendAsync(seen)).Position;
        // Stored after the point the gateway resumes from, signed an hour before the newest event the client had.
        var signedLongAgo = author.Note("signed an hour ago", createdAt: now - 3600);
        Assert.True((await streams.AppendAsync(signedLongAgo)).Position > seenAt);
        var recent = author.Note("recent", createdAt: now + 1);
        await streams.AppendAsync(recent);
        long[] clientHad = [ResumePoint.IdKey(seen.Id), ResumePoint.IdKey(recent.Id)];

        var filters = new[] { new Filter { Authors = [author.Pubkey] } };
        await shard.ResumeAsync(1, "sub", filters, new ResumePoint(now - 30, clientHad, seenAt));
        Assert.Equal(signedLongAgo.Id, (await observer.NextAsync()).Event!.Id);   // the client had the other two
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));

        // The same resume by created_at alone, as before positions, cannot find it.
        await shard.ResumeAsync(1, "by-time", filters, new ResumePoint(now - 30, clientHad));
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(500)));
    }

    /// <summary>Positions above any the shared cluster's store hands out: a shard vouches for the highest it matched.</summary>
    private static long At(long n) => (1L << 40) + n;

    private async Task<(ISubscriptionGrain Shard, RecordingObserver Observer, Func<Task> CheckIn)> AttachAsync(string name)
    {
        var observer = new RecordingObserver();
        var shard = fixture.Cluster.Client.GetGrain<ISubscriptionGrain>($"{name}-{Guid.NewGuid():N}/0");
        var reference = fixture.Cluster.Client.CreateObjectReference<IGatewayShardObserver>(observer);
        await shard.AttachAsync(reference);
        return (shard, observer, () => shard.AttachAsync(reference));
    }
}
