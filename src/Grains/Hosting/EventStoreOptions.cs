namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Store</c> section: which event store the relay uses and where it keeps its data.</summary>
public sealed class EventStoreOptions
{
    /// <summary>Sqlite (default: one file, durable, embedded) or Memory (lost on exit; for tests and trials).</summary>
    public string Type { get; set; } = "Sqlite";

    /// <summary>The Sqlite file, relative to the content root. Default <c>data/relay.db</c>.</summary>
    public string Path { get; set; } = "data/relay.db";
}
