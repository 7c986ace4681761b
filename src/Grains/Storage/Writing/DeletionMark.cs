namespace NostrRelay.Storage.Writing;

/// <summary>A stored deletion request (kind 5) that names an id or an address: who asked, and when.</summary>
internal readonly record struct DeletionMark(string Pubkey, long CreatedAt);
