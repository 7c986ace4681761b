using NostrRelay.Storage;

namespace NostrRelay.Streams;

/// <summary>
/// A round of an author's events handed to the store: each event's save (none for an ephemeral or a vanished
/// author's event), a task done once all of them are answered, and when it went out.
/// </summary>
internal sealed record SentRound(List<PendingAppend> Events, Task<SaveResult>?[] Saves, Task Answered, long Started);
