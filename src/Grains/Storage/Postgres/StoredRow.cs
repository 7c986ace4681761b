namespace NostrRelay.Storage.Postgres;

/// <summary>
/// An event row read by the writer to decide a write. One object per row within a round, so a delete and a
/// replace that meet at one row both see the other's removal.
/// </summary>
internal sealed class StoredRow(long position, string id, long createdAt, string? address, byte[] json)
{
    public long Position { get; } = position;
    public string Id { get; } = id;
    public long CreatedAt { get; } = createdAt;
    public string? Address { get; } = address;
    public byte[] Json { get; } = json;

    /// <summary>Removed by an earlier write of this round.</summary>
    public bool Removed { get; set; }
}
