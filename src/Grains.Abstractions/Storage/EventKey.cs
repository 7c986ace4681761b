namespace NostrRelay.Storage;

/// <summary>
/// What COUNT needs of a stored event: its id, to count it once across filters; its pubkey, for NIP-45's HyperLogLog;
/// its kind, to leave out private kinds a connection may not see.
/// </summary>
public readonly record struct EventKey(string Id, string Pubkey, int Kind);
