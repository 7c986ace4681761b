namespace NostrRelay.Storage.Paging;

/// <summary>The last event of a page in NIP-01 order; the next page starts right after it.</summary>
internal readonly record struct EventCursor(long CreatedAt, string Id);
