namespace NostrRelay.Storage;

/// <summary>
/// What COUNT and NIP-77 reconciliation need of a stored event: its id, to count it once across filters and to
/// reconcile by; its pubkey, for NIP-45's HyperLogLog; its kind, to leave out private kinds a connection may not see;
/// its created_at, which orders negentropy's records.
/// </summary>
public readonly record struct EventKey(string Id, string Pubkey, int Kind, long CreatedAt);
