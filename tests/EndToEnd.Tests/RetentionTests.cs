using Microsoft.Extensions.DependencyInjection;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// <c>Relay:Retention</c>: the background purge keeps events of some kinds for a time, and NIP-11 says so:
/// "retention: a list of retention policies, each with kinds and a time in seconds".
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class RetentionTests(RelayFixture fixture)
{
    [Fact]
    public async Task events_of_a_kept_for_a_time_kind_are_deleted_once_older_and_others_stay()
    {
        await using var relay = await RelayServer.StartAsync("Relay:ExpiryPurge:Interval=00:00:00.2",
            "Relay:Retention:0:Kinds:0=1", "Relay:Retention:0:Time=3600");
        var store = relay.Services.GetRequiredService<IEventStore>();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var oldNote = await fixture.Tools.SignAsync(key, 1, "two hours old", createdAt: now - 7200);
        var newNote = await fixture.Tools.SignAsync(key, 1, "fresh", createdAt: now);
        var oldReaction = await fixture.Tools.SignAsync(key, 7, "+", createdAt: now - 7200);
        foreach (var evt in new[] { oldNote, newNote, oldReaction }) Assert.True((await client.PublishAsync(evt)).Accepted);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        List<string> stored;
        while (true)
        {
            stored = await store.QueryAsync(new Filter { Authors = [oldNote.Pubkey] }).Select(e => e.Id).ToListAsync();
            if (!stored.Contains(oldNote.Id) || DateTime.UtcNow > deadline) break;
            await Task.Delay(100);
        }

        Assert.Equal(new[] { newNote.Id, oldReaction.Id }.Order(), stored.Order());
        var document = await InformationDocument.FetchAsync(relay.HttpUrl);
        var rule = Assert.Single(document.GetProperty("retention").EnumerateArray());
        Assert.Equal([1], rule.GetProperty("kinds").EnumerateArray().Select(k => k.GetInt32()));
        Assert.Equal(3600, rule.GetProperty("time").GetInt64());
    }
}
