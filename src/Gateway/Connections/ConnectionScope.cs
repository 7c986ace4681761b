using System.Collections;

namespace NostrRelay.Connections;

/// <summary>
/// The log scope of one connection ("Nostr connection 7 from 203.0.113.5"), with the id and address as fields a JSON
/// log can group by. It is held for as long as the connection is open, so it is one small object that boxes its id
/// only when a log provider reads it, not a formatted message with its argument array.
/// </summary>
internal sealed class ConnectionScope(long connectionId, string remoteIp) : IReadOnlyList<KeyValuePair<string, object?>>
{
    // Not "ConnectionId": Kestrel's own scope has that key (its connection's), and log tools merge scopes' keys.
    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("NostrConnectionId", connectionId),
        1 => new("RemoteIp", remoteIp),
        2 => new("{OriginalFormat}", "Nostr connection {NostrConnectionId} from {RemoteIp}"),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public int Count => 3;

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"Nostr connection {connectionId} from {remoteIp}";
}
