using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// One NEG-OPEN's read: its filter (a limit, when it has one, keeps the newest that many); the most records the
/// relay will reconcile; and, when private kinds are gated, which kinds those are and the pubkeys the connection
/// authenticated as (an event of a private kind is a record only when one of them wrote it or is <c>p</c>-tagged).
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.negentropy-request")]
public sealed record NegentropyRequest(
    [property: Id(0)] Filter Filter,
    [property: Id(1)] int MaxRecords,
    [property: Id(2)] int[]? PrivateKinds = null,
    [property: Id(3)] string[]? Parties = null);
