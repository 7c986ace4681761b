namespace NostrRelay.Sync;

/// <summary>A negentropy message that does not follow Negentropy Protocol V1.</summary>
public sealed class NegentropyException(string message) : Exception(message);
