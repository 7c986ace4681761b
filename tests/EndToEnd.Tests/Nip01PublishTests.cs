using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-01 publishing: "Relays MUST ... send OK messages as a response to EVENT messages"; "when a relay
/// receives ... a replaceable event ... only the latest event MUST be stored"; ephemeral events "are not
/// expected to be stored". Every event here is signed by nostr-tools.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip01PublishTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_valid_event_is_accepted_and_can_be_read_back()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var evt = await fixture.Tools.SignAsync(sk, 1, "hello relay");

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
        Assert.Equal("", message);
        var stored = await client.QueryAsync("read", new { ids = new[] { evt.Id } });
        Assert.Equal(evt.Json, Assert.Single(stored).GetRawText());
    }

    [Fact]
    public async Task the_same_event_twice_is_ok_true_with_a_duplicate_reason_and_is_not_broadcast_again()
    {
        await using var publisher = await fixture.ConnectAsync();
        await using var watcher = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var evt = await fixture.Tools.SignAsync(sk, 1, "twice");
        await watcher.QueryAsync("live", new { authors = new[] { evt.Pubkey } });

        Assert.True((await publisher.PublishAsync(evt)).Accepted);
        var (accepted, message) = await publisher.PublishAsync(evt);

        Assert.True(accepted);
        Assert.StartsWith("duplicate:", message);
        await watcher.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.Id(f[2]) == evt.Id);
        Assert.True(await watcher.NoneArrivesAsync(f => Frames.Is(f, "EVENT"), TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task an_event_whose_id_does_not_match_its_content_is_refused_as_invalid()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "original");
        var tampered = evt.Json.Replace("\"original\"", "\"tampered\"");

        var (accepted, message) = await client.PublishRawAsync(evt.Id, $"[\"EVENT\",{tampered}]");

        Assert.False(accepted);
        Assert.StartsWith("invalid:", message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { evt.Id } }));
    }

    [Fact]
    public async Task an_event_with_a_signature_from_another_key_is_refused_as_invalid()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "signed");
        var other = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "other");
        var sig = other.Element.GetProperty("sig").GetString()!;
        var forged = evt.Json.Replace(evt.Element.GetProperty("sig").GetString()!, sig);

        var (accepted, message) = await client.PublishRawAsync(evt.Id, $"[\"EVENT\",{forged}]");

        Assert.False(accepted);
        Assert.Equal("invalid: signature does not verify", message);
    }

    [Fact]
    public async Task a_newer_replaceable_event_replaces_the_older_and_an_older_one_is_refused()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var first = await fixture.Tools.SignAsync(sk, 0, "{\"name\":\"first\"}", createdAt: now - 100);
        var second = await fixture.Tools.SignAsync(sk, 0, "{\"name\":\"second\"}", createdAt: now - 50);
        var stale = await fixture.Tools.SignAsync(sk, 0, "{\"name\":\"stale\"}", createdAt: now - 75);

        Assert.True((await client.PublishAsync(first)).Accepted);
        Assert.True((await client.PublishAsync(second)).Accepted);
        var (accepted, message) = await client.PublishAsync(stale);

        Assert.False(accepted);
        Assert.StartsWith("replaced:", message);
        var profiles = await client.QueryAsync("p", new { authors = new[] { first.Pubkey }, kinds = new[] { 0 } });
        Assert.Equal(second.Id, Frames.Id(Assert.Single(profiles)));
    }

    [Fact]
    public async Task replaceable_events_from_the_same_second_keep_the_lowest_id()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var at = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 10;
        var a = await fixture.Tools.SignAsync(sk, 10002, "a", [["r", "wss://a.example"]], at);
        var b = await fixture.Tools.SignAsync(sk, 10002, "b", [["r", "wss://b.example"]], at);
        var (low, high) = string.CompareOrdinal(a.Id, b.Id) < 0 ? (a, b) : (b, a);

        Assert.True((await client.PublishAsync(high)).Accepted);
        Assert.True((await client.PublishAsync(low)).Accepted);
        Assert.False((await client.PublishAsync(high)).Accepted);

        var kept = await client.QueryAsync("r", new { authors = new[] { a.Pubkey }, kinds = new[] { 10002 } });
        Assert.Equal(low.Id, Frames.Id(Assert.Single(kept)));
    }

    [Fact]
    public async Task addressable_events_are_replaced_per_d_tag()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var articleV1 = await fixture.Tools.SignAsync(sk, 30023, "v1", [["d", "article"]], now - 20);
        var articleV2 = await fixture.Tools.SignAsync(sk, 30023, "v2", [["d", "article"]], now - 10);
        var other = await fixture.Tools.SignAsync(sk, 30023, "other", [["d", "other"]], now - 30);

        foreach (var evt in new[] { articleV1, articleV2, other })
            Assert.True((await client.PublishAsync(evt)).Accepted);

        var stored = await client.QueryAsync("a", new { authors = new[] { articleV1.Pubkey }, kinds = new[] { 30023 } });
        Assert.Equal([articleV2.Id, other.Id], stored.Select(Frames.Id));
    }

    [Fact]
    public async Task an_ephemeral_event_reaches_live_subscribers_and_is_not_stored()
    {
        await using var publisher = await fixture.ConnectAsync();
        await using var watcher = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var evt = await fixture.Tools.SignAsync(sk, 20001, "ephemeral");
        await watcher.QueryAsync("live", new { authors = new[] { evt.Pubkey } });

        var (accepted, _) = await publisher.PublishAsync(evt);

        Assert.True(accepted);
        var live = await watcher.ExpectAsync(f => Frames.Is(f, "EVENT"));
        Assert.Equal(evt.Id, Frames.Id(live[2]));
        Assert.Empty(await publisher.QueryAsync("stored", new { authors = new[] { evt.Pubkey } }));
    }

    [Fact]
    public async Task many_events_in_flight_on_one_connection_all_get_their_ok()
    {
        await using var client = await fixture.ConnectAsync();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 60; i++)
            events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"pipelined {i}"));

        foreach (var evt in events) await client.SendAsync($"[\"EVENT\",{evt.Json}]");
        foreach (var evt in events)
        {
            var ok = await client.ExpectAsync(f => Frames.Is(f, "OK") && f[1].GetString() == evt.Id);
            Assert.True(ok[2].GetBoolean());
        }
    }

    [Fact]
    public async Task one_authors_events_sent_back_to_back_are_each_answered_as_if_sent_alone()
    {
        await using var client = await fixture.ConnectAsync();
        var key = NostrTools.NewSecretKey();
        var notes = new List<SignedEvent>();
        for (var i = 0; i < 120; i++) notes.Add(await fixture.Tools.SignAsync(key, 1, $"one author, pipelined {i}"));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var newerProfile = await fixture.Tools.SignAsync(key, 0, "{\"name\":\"new\"}", createdAt: now - 10);
        var olderProfile = await fixture.Tools.SignAsync(key, 0, "{\"name\":\"old\"}", createdAt: now - 1_000);

        // Sent back to back: the relay has many in flight at once, most of them in a few calls to the author's grain.
        var sent = new List<(SignedEvent Event, bool Ok, string Prefix)>();
        for (var i = 0; i < notes.Count; i++)
        {
            sent.Add((notes[i], true, ""));
            if (i == 40) sent.Add((notes[3], true, "duplicate:"));
            if (i == 60) sent.Add((newerProfile, true, ""));
            if (i == 61) sent.Add((olderProfile, false, "replaced:"));
        }
        foreach (var (evt, _, _) in sent) await client.SendAsync($"[\"EVENT\",{evt.Json}]");

        var answers = new Dictionary<string, (bool Ok, string Message)>();
        while (answers.Count < sent.Count)   // notes[3] twice: its second answer is kept under its own key
        {
            var ok = await client.ExpectAsync(f => Frames.Is(f, "OK"));
            var id = ok[1].GetString()!;
            var message = ok[3].GetString()!;
            if (message.StartsWith("duplicate:", StringComparison.Ordinal)) id += "/again";
            answers[id] = (ok[2].GetBoolean(), message);
        }
        Assert.All(notes, n => Assert.True(answers[n.Id].Ok, answers[n.Id].Message));
        Assert.True(answers[notes[3].Id + "/again"].Ok);
        Assert.True(answers[newerProfile.Id].Ok, answers[newerProfile.Id].Message);
        Assert.Equal((false, true), (answers[olderProfile.Id].Ok, answers[olderProfile.Id].Message.StartsWith("replaced:", StringComparison.Ordinal)));

        var pubkey = notes[0].Pubkey;
        var stored = await client.QueryAsync("mine", new { authors = new[] { pubkey }, limit = 500 });
        Assert.Equal(121, stored.Count);
        Assert.Equal(newerProfile.Id, Assert.Single(stored, e => e.GetProperty("kind").GetInt32() == 0).GetProperty("id").GetString());
    }
}
