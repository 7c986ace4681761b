namespace NostrRelay.Benchmarks.Workload;

/// <summary>What to sign: author (index into the key set), time, kind, tags and content.</summary>
internal readonly record struct EventDraft(int Author, long CreatedAt, int Kind, string[][] Tags, string Content);
