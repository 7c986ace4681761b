using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// A stored event as a write reads it: its position and the columns a decision needs, the whole event parsed
/// from its stored JSON only when asked for. A store that reads ahead hands out one object per row within a
/// round, so a delete and a replace that meet at one row both see the other's removal.
/// </summary>
internal sealed class StoredRow
{
    private readonly byte[]? _json;
    private NostrEvent? _event;

    public StoredRow(long position, string id, long createdAt, string? address, byte[] json)
    {
        Position = position;
        Id = id;
        CreatedAt = createdAt;
        Address = address;
        _json = json;
    }

    public StoredRow(long position, NostrEvent stored)
    {
        Position = position;
        Id = stored.Id;
        CreatedAt = stored.CreatedAt;
        Address = stored.Address;
        _event = stored;
    }

    public long Position { get; }
    public string Id { get; }
    public long CreatedAt { get; }
    public string? Address { get; }

    /// <summary>The stored event, parsed whole on first use; throws when the stored JSON cannot be read.</summary>
    public NostrEvent Event => _event ??= EventReader.ParseStoredWhole(_json!);

    /// <summary>Removed by an earlier write of the round (stores that read ahead keep the row object).</summary>
    public bool Removed { get; set; }
}
