namespace NostrRelay.Benchmarks.Client;

internal enum ReplyKind
{
    Unknown,
    Event,
    Ok,
    EndOfStoredEvents,
    Closed,
    Notice,
}
