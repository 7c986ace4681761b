using NostrRelay.Sync;

namespace NostrRelay.Grains;

/// <summary>The records a filter matches, or, when more than the request allows, null and how many were seen before stopping.</summary>
[GenerateSerializer, Immutable, Alias("relay.negentropy-read")]
public sealed record NegentropyRead([property: Id(0)] NegentropySet? Records, [property: Id(1)] long Matched);
