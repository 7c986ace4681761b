namespace NostrRelay.Silo.Sync;

/// <summary>Why a sync or stream could not go on, in words for the operator (printed, and the command exits non-zero).</summary>
internal sealed class SyncException(string message) : Exception(message);
