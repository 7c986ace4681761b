using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// What a store answers once an upgrade gave its tag rows their kind (Sqlite schema 6, Postgres store version 4):
/// alice's reply among her tag rows, the note's one reaction counted, and a write after the upgrade found with them.
/// </summary>
internal static class UpgradedTagRowsCheck
{
    public static async Task AnswersAsync(IEventStore reopened, string alice, NostrEvent note, NostrEvent reply)
    {
        var replies = new Filter { Kinds = [1], Tags = [new TagFilter('p', [alice])] };
        Assert.Equal([reply.Id], await reopened.QueryAsync(replies).Select(e => e.Id).ToListAsync());
        Assert.Equal(1, await reopened.CountAsync(new Filter { Kinds = [7], Tags = [new TagFilter('e', [note.Id])] }));
        var later = TestEvents.Create(alice, 103, 1, [["p", alice]]);
        Assert.Equal(SaveOutcome.Saved, (await reopened.SaveAsync(later, alice, 3)).Outcome);
        Assert.Equal([later.Id, reply.Id], await reopened.QueryAsync(replies).Select(e => e.Id).ToListAsync());
        Assert.Equal(2, await reopened.CountAsync(replies));
    }
}
