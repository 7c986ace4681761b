using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// One COUNT: its filters (OR'd, each matching event counted once), and, when private kinds are gated, which kinds
/// those are and the pubkeys the connection authenticated as. An event of a private kind is counted only when one of
/// those pubkeys wrote it or its <c>p</c> tags name one.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.count-request")]
public sealed record CountRequest(
    [property: Id(0)] Filter[] Filters,
    [property: Id(1)] int[]? PrivateKinds = null,
    [property: Id(2)] string[]? Parties = null);
