using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// One COUNT: its filters (OR'd, each matching event counted once); when private kinds are gated, which kinds those
/// are and the pubkeys the connection authenticated as (an event of a private kind is counted only when one of those
/// pubkeys wrote it or its <c>p</c> tags name one); and the NIP-45 HyperLogLog offset, taken from the filters as the
/// client wrote them (null: no HyperLogLog).
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.count-request")]
public sealed record CountRequest(
    [property: Id(0)] Filter[] Filters,
    [property: Id(1)] int[]? PrivateKinds = null,
    [property: Id(2)] string[]? Parties = null,
    [property: Id(3)] int? HllOffset = null)
{
    /// <summary>The offset NIP-45 gives these filters: every filter that can match has a tag condition, and they agree.</summary>
    public static int? HllOffsetFor(Filter[] filters)
    {
        int? offset = null;
        foreach (var filter in filters)
        {
            if (filter.CannotMatch) continue;
            var own = HyperLogLog.OffsetFor(filter);
            if (own is null || (offset is not null && own != offset)) return null;
            offset = own;
        }
        return offset;
    }
}
