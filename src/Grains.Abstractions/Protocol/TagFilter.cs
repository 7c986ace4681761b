namespace NostrRelay.Protocol;

/// <summary>A <c>#x</c> filter condition: the event must have a tag named <see cref="Name"/> whose first value is one of <see cref="Values"/>.</summary>
[GenerateSerializer, Immutable, Alias("nostr.tag-filter")]
public sealed record TagFilter([property: Id(0)] char Name, [property: Id(1)] string[] Values);
