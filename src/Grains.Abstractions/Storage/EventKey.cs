namespace NostrRelay.Storage;

/// <summary>What COUNT needs of a stored event: its id, to count it once across filters, and its pubkey, for NIP-45's HyperLogLog.</summary>
public readonly record struct EventKey(string Id, string Pubkey);
