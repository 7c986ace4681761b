namespace NostrRelay.Grains;

/// <summary>A change to the relay's moderation: what is done, to which pubkey, event id, kind, address or text, and why.</summary>
[GenerateSerializer, Immutable, Alias("relay.moderation-change")]
public sealed record ModerationChange([property: Id(0)] ModerationAction Action, [property: Id(1)] string Value, [property: Id(2)] string? Reason = null);
