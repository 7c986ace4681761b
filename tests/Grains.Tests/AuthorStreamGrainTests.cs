using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>The author stream grain is the single writer of one author's stream: versions, duplicates, supersession.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AuthorStreamGrainTests(ClusterFixture fixture)
{
    private IAuthorStreamGrain Stream(Author author) => fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

    [Fact]
    public async Task appends_get_contiguous_versions_and_increasing_positions()
    {
        var author = new Author();

        var first = await Stream(author).AppendAsync(author.Note("one"));
        var second = await Stream(author).AppendAsync(author.Note("two"));

        Assert.Equal(AppendStatus.Accepted, first.Status);
        Assert.Equal((1L, 2L), (first.Version, second.Version));
        Assert.True(second.Position > first.Position);
        Assert.Equal(2, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task the_same_event_twice_is_a_duplicate_and_takes_no_version()
    {
        var author = new Author();
        var evt = author.Note("once");

        await Stream(author).AppendAsync(evt);
        var again = await Stream(author).AppendAsync(evt);

        Assert.Equal(AppendStatus.Duplicate, again.Status);
        Assert.True(again.Ok);
        Assert.StartsWith("duplicate:", again.Message);
        Assert.Equal(1, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task an_older_replaceable_event_is_refused_and_the_newer_one_kept()
    {
        var author = new Author();
        var newer = author.Note("{\"name\":\"new\"}", createdAt: 2_000, kind: EventKind.Metadata);
        var older = author.Note("{\"name\":\"old\"}", createdAt: 1_000, kind: EventKind.Metadata);

        await Stream(author).AppendAsync(newer);
        var result = await Stream(author).AppendAsync(older);

        Assert.Equal(AppendStatus.Rejected, result.Status);
        Assert.StartsWith("replaced:", result.Message);
        var kept = await fixture.Store.QueryAsync(new Filter { Authors = [author.Pubkey], Kinds = [0] }).ToListAsync();
        Assert.Equal(newer.Id, Assert.Single(kept).Id);
    }

    [Fact]
    public async Task an_event_of_another_author_is_refused()
    {
        var author = new Author();
        var other = new Author();

        var result = await Stream(author).AppendAsync(other.Note("not mine"));

        Assert.Equal(AppendStatus.Rejected, result.Status);
        Assert.StartsWith("invalid:", result.Message);
    }

    [Fact]
    public async Task an_ephemeral_event_is_accepted_without_being_stored()
    {
        var author = new Author();

        var result = await Stream(author).AppendAsync(author.Note("now only", kind: 20_000));

        Assert.Equal(AppendStatus.Accepted, result.Status);
        Assert.Equal(0, await fixture.Store.CountAsync(new Filter { Authors = [author.Pubkey] }));
    }

    [Fact]
    public async Task a_reactivated_stream_continues_from_the_stored_head()
    {
        var author = new Author();
        await Stream(author).AppendAsync(author.Note("before"));
        await Stream(author).AppendAsync(author.Note("before 2"));

        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var after = await Stream(author).AppendAsync(author.Note("after"));

        Assert.Equal(3, after.Version);
    }
}
