namespace NostrRelay.Grains;

/// <summary>
/// A COUNT's answer: how many events, and the NIP-45 HyperLogLog registers of their pubkeys when the filters allow
/// one. Approximate when overlapping filters matched too many events to count each once, and were summed instead.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.count-result")]
public sealed record CountResult([property: Id(0)] long Count, [property: Id(1)] byte[]? Hll = null, [property: Id(2)] bool Approximate = false);
