using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>NIP-40: "The expiration tag enables users to specify a unix timestamp at which the message SHOULD be considered expired."</summary>
public sealed class ExpirationTests
{
    [Fact]
    public void expiration_is_the_first_expiration_tags_unix_time()
    {
        Assert.Equal(1_700_000_000, Event(["expiration", "1700000000"]).Expiration);
        Assert.Null(Event(["expiration", "soon"]).Expiration);
        Assert.Null(Event(["expirations", "1700000000"]).Expiration);
        Assert.True(Event(["expiration", "1700000000"]).IsExpiredAt(1_700_000_000));
        Assert.False(Event(["expiration", "1700000000"]).IsExpiredAt(1_699_999_999));
    }

    private static NostrEvent Event(string[] tag) => new(new string('0', 64), new string('1', 64), 1, 1, [tag], "", new string('2', 128), []);
}
