using NostrRelay.Connections;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>What a gateway asks for when it resumes a subscription its shard lost: enough to miss nothing, named so nothing repeats.</summary>
public sealed class GatewaySubscriptionTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static readonly long Opened = Now - 10_000;
    private static readonly long LookBack = (long)GatewaySubscription.ResumeLookBack.TotalSeconds;

    private static NostrEvent Event(int n, long createdAt) =>
        new($"{n:x16}{new string('0', 48)}", new string('a', 64), createdAt, 1, [], "", new string('b', 128), []);

    [Fact]
    public void a_subscription_that_was_sent_nothing_resumes_from_before_its_req()
    {
        var from = new GatewaySubscription([Filter.Everything], Opened).ResumeFrom(0);
        Assert.Equal(Opened - LookBack, from.Since);
        Assert.Empty(from.Sent);
    }

    [Fact]
    public void it_looks_back_before_the_newest_event_sent_and_names_what_was_sent_since()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        var old = Event(1, Opened - 600);            // a stored event from long ago
        var early = Event(2, Opened + 90);           // signed early, arrived after the newest
        var newest = Event(3, Opened + 100);
        foreach (var evt in new[] { old, newest, early }) subscription.TrySend(evt, Now);

        var from = subscription.ResumeFrom(0);
        Assert.Equal(Opened + 100 - LookBack, from.Since);
        Assert.Equal([ResumePoint.IdKey(newest.Id), ResumePoint.IdKey(early.Id)], from.Sent);
    }

    [Fact]
    public void a_busy_subscription_resumes_no_earlier_than_what_it_still_remembers()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        var count = GatewaySubscription.RememberedEvents + 2000;
        for (var i = 0; i < count; i++) subscription.TrySend(Event(i, Opened + i / 1000), Now);   // a thousand a second

        var from = subscription.ResumeFrom(0);
        var forgottenNewest = Opened + (count - GatewaySubscription.RememberedEvents - 1) / 1000;
        Assert.Equal(forgottenNewest, from.Since);   // later than newest - look-back: the events before are not named
        var named = from.Sent.ToHashSet();
        for (var i = 0; i < count; i++)
        {
            var sentAt = Opened + i / 1000;
            if (i >= count - GatewaySubscription.RememberedEvents) Assert.Contains(ResumePoint.IdKey(Event(i, sentAt).Id), named);
        }
        Assert.Equal(from.Sent.Length, named.Count);
    }

    [Fact]
    public void an_id_key_is_the_first_eight_bytes_of_the_id()
    {
        Assert.Equal(0x0123456789abcdefL, ResumePoint.IdKey("0123456789abcdef" + new string('f', 48)));
        Assert.Equal(-1L, ResumePoint.IdKey(new string('f', 64)));
    }

    [Fact]
    public void an_event_stamped_far_in_the_future_does_not_move_the_resume_past_what_was_missed()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        subscription.TrySend(Event(1, Opened + 10), Now);
        subscription.TrySend(Event(2, 4_102_444_800), Now);   // 2100-01-01
        var from = subscription.ResumeFrom(0);
        Assert.InRange(from.Since, Opened, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public void once_resumed_an_event_the_window_names_is_not_sent_again_and_one_it_forgot_or_never_named_is()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        var live = Event(1, Opened + 100);
        var stored = Event(2, Opened - 600);   // before the look-back: never named, so never held back
        Assert.True(subscription.TrySend(live, Now));
        Assert.True(subscription.TrySend(stored, Now));
        Assert.Single(subscription.ResumeFrom(0).Sent);

        Assert.False(subscription.TrySend(live, Now));   // the resumed shard read it again
        Assert.True(subscription.TrySend(stored, Now));
        var newer = Event(3, Opened + 200);   // moves the look-back past the first one, which the window still names
        Assert.True(subscription.TrySend(newer, Now));
        Assert.False(subscription.TrySend(live, Now));

        for (var i = 0; i < GatewaySubscription.RememberedEvents; i++) Assert.True(subscription.TrySend(Event(10 + i, Opened + 200), Now));
        Assert.True(subscription.TrySend(live, Now));   // pushed out of the window by 4,096 newer ones
        Assert.False(subscription.TrySend(Event(10 + GatewaySubscription.RememberedEvents - 1, Opened + 200), Now));
    }

    [Fact]
    public void once_resumed_a_subscription_holds_back_what_it_was_sent_without_being_told_a_repeat_is_possible()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        var beforeLoss = Event(1, Opened + 100);
        Assert.True(subscription.TrySend(beforeLoss, Now));

        subscription.ResumeFrom(0);   // the shard was lost: the one that takes the resume reads the store again
        Assert.False(subscription.TrySend(beforeLoss, Now));
        var afterResume = Event(2, Opened + 101);
        Assert.True(subscription.TrySend(afterResume, Now));
        Assert.False(subscription.TrySend(afterResume, Now));
    }

    [Fact]
    public void after_its_eose_a_live_event_of_any_age_is_named_and_a_resume_from_a_position_names_the_whole_window()
    {
        var subscription = new GatewaySubscription([Filter.Everything], Opened);
        var stored = Event(1, Opened - 600);
        Assert.True(subscription.TrySend(stored, Now));
        subscription.EndOfStoredEventsSent = true;
        var recent = Event(2, Opened + 100);
        var signedLongAgo = Event(3, Opened - 900);   // live, but stamped long before the newest
        Assert.True(subscription.TrySend(recent, Now));
        Assert.True(subscription.TrySend(signedLongAgo, Now));

        var byTime = subscription.ResumeFrom(0);
        Assert.Equal(0, byTime.AfterPosition);
        Assert.Equal([ResumePoint.IdKey(recent.Id)], byTime.Sent);   // read by created_at only: the old one cannot come back

        var byPosition = subscription.ResumeFrom(4_242);
        Assert.Equal(4_242, byPosition.AfterPosition);
        Assert.Equal(byTime.Since, byPosition.Since);
        // Read past a position, it can: it is named, so it is not sent twice. The stored one went before EOSE, older
        // than any resume reads by created_at, and is not.
        Assert.Equal([ResumePoint.IdKey(recent.Id), ResumePoint.IdKey(signedLongAgo.Id)], byPosition.Sent);
        Assert.False(subscription.TrySend(signedLongAgo, Now));
    }
}
