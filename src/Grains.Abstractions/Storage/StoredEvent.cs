using NostrRelay.Protocol;

namespace NostrRelay.Storage;

/// <summary>An event with where it sits: its stream version and its global position.</summary>
public sealed record StoredEvent(NostrEvent Event, string Stream, long Version, long Position);
