namespace NostrRelay.Protocol;

/// <summary>
/// A validated NIP-01 event. <see cref="Json"/> holds its seven fields serialized once, on arrival: the store keeps
/// those bytes and every subscriber is sent the same bytes.
/// An event read back from a store, or sent from another silo, starts as those bytes alone. Its id, created_at and
/// kind come from their fixed places in the relay's serialization at once, and the other fields are read the first
/// time one is asked for. Sending a stored event to a REQ needs only those three, whether it expires, and the bytes,
/// so the rest is never read. Another silo is sent all of it (<see cref="NostrEventSurrogate"/>).
/// Equal events have the same id and the same bytes.
/// </summary>
// Orleans writes it through NostrEventSurrogate: the seven fields and the bytes, as earlier builds did.
[Immutable, Alias("nostr.event")]
public sealed record NostrEvent
{
    private readonly byte[] _json;
    private string? _id;   // with _createdAt and _kind, known when not null
    private long _createdAt;
    private string? _pubkey;
    private int _kind;
    private string[][]? _tags;
    private string? _content;
    private string? _sig;
    private volatile bool _complete;   // every field known; threads filling them at once write the same values

    public NostrEvent(string Id, string Pubkey, long CreatedAt, int Kind, string[][] Tags, string Content, string Sig, byte[] Json)
    {
        _id = Id;
        _pubkey = Pubkey;
        _createdAt = CreatedAt;
        _kind = Kind;
        _tags = Tags;
        _content = Content;
        _sig = Sig;
        _json = Json;
        _complete = true;
    }

    private NostrEvent(byte[] json) => _json = json;

    /// <summary>
    /// The copy a <c>with</c> starts from. Written out because another thread may be filling the original's fields
    /// meanwhile: only what the original says is known is copied, never a field half filled.
    /// </summary>
    private NostrEvent(NostrEvent original)
    {
        _json = original._json;
        if (original._complete) Take(original);
        else if (Volatile.Read(ref original._id) is { } id)
        {
            _createdAt = original._createdAt;
            _kind = original._kind;
            _id = id;
        }
    }

    /// <summary>
    /// An event from the relay's own stored bytes (<see cref="EventReader.ParseStored"/>). Bytes not in the relay's
    /// layout are read whole at once, so what is not an event fails here, where a store reads it.
    /// </summary>
    internal static NostrEvent FromStored(byte[] json) => new NostrEvent(json).Head();

    public string Id { get => Volatile.Read(ref _id) ?? Head()._id!; init { Complete(); _id = value; } }

    public long CreatedAt { get => Volatile.Read(ref _id) is not null ? _createdAt : Head()._createdAt; init { Complete(); _createdAt = value; } }

    public string Pubkey { get => _complete ? _pubkey! : Complete()._pubkey!; init { Complete(); _pubkey = value; } }

    public int Kind { get => Volatile.Read(ref _id) is not null ? _kind : Head()._kind; init { Complete(); _kind = value; } }

    public string[][] Tags { get => _complete ? _tags! : Complete()._tags!; init { Complete(); _tags = value; } }

    public string Content { get => _complete ? _content! : Complete()._content!; init { Complete(); _content = value; } }

    public string Sig { get => _complete ? _sig! : Complete()._sig!; init { Complete(); _sig = value; } }

    /// <summary>The bytes sent to clients. Replacing them (<c>with { Json = ... }</c>, as a delivery policy may) keeps the fields.</summary>
    public byte[] Json { get => _json; init { Complete(); _json = value; } }


    /// <summary>Reads the id, created_at and kind from their places in the bytes; bytes in another layout are read whole.</summary>
    private NostrEvent Head()
    {
        if (Volatile.Read(ref _id) is not null) return this;
        if (!StoredLayout.TryReadHead(_json, out var id, out var createdAt, out var kind)) return Complete();
        _createdAt = createdAt;
        _kind = kind;
        Volatile.Write(ref _id, id);
        return this;
    }

    /// <summary>Reads every field from the bytes, once; a stored event whose bytes do not read as an event throws <see cref="FormatException"/>.</summary>
    private NostrEvent Complete()
    {
        if (_complete) return this;
        Take(EventReader.ParseSerialized(_json));
        return this;
    }

    /// <summary>Every field of a complete event with the same bytes, then the mark that they are all known.</summary>
    private void Take(NostrEvent complete)
    {
        _createdAt = complete._createdAt;
        _kind = complete._kind;
        Volatile.Write(ref _id, complete._id);   // after those two: a reader that sees the id reads them without parsing
        _pubkey = complete._pubkey;
        _tags = complete._tags;
        _content = complete._content;
        _sig = complete._sig;
        _complete = true;
    }

    public bool Equals(NostrEvent? other) =>
        ReferenceEquals(this, other) || (other is not null && string.Equals(Id, other.Id, StringComparison.Ordinal) && _json.AsSpan().SequenceEqual(other._json));

    public override int GetHashCode() => Id.GetHashCode();

    /// <summary>The value of the first <c>d</c> tag, or "" when there is none (NIP-01 addressable events).</summary>
    public string DTag
    {
        get
        {
            foreach (var tag in Tags)
            {
                if (tag.Length >= 2 && tag[0] == "d") return tag[1];
                if (tag.Length == 1 && tag[0] == "d") return "";
            }
            return "";
        }
    }

    /// <summary>
    /// The replaceable address this event competes for ("kind:pubkey:" or "kind:pubkey:d"), or null for
    /// regular and ephemeral events. Only the newest event of an address is kept.
    /// </summary>
    public string? Address => EventKind.IsReplaceable(Kind) ? AddressOf(Kind, Pubkey)
        : EventKind.IsAddressable(Kind) ? AddressOf(Kind, Pubkey, DTag)
        : null;

    /// <summary>The address an event of this kind and author competes for: "kind:pubkey:" plus the d tag of an addressable one.</summary>
    internal static string AddressOf(int kind, string pubkey, string d = "") =>
        string.Concat(kind.ToString(System.Globalization.CultureInfo.InvariantCulture), ":", pubkey, ":", d);

    /// <summary>NIP-01 order: newest first; equal created_at, lowest id first.</summary>
    public static int CompareNewestFirst(NostrEvent a, NostrEvent b)
    {
        var byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary>True when this event replaces the one of <paramref name="otherCreatedAt"/> and <paramref name="otherId"/> at the same address (NIP-01: newer wins; same second, lower id wins).</summary>
    public bool Supersedes(long otherCreatedAt, string otherId) =>
        CreatedAt > otherCreatedAt || (CreatedAt == otherCreatedAt && string.CompareOrdinal(Id, otherId) < 0);

    /// <summary>
    /// NIP-40: the unix time in the first <c>expiration</c> tag, or null when there is none (or it is not a number).
    /// From that second on the event is not served.
    /// </summary>
    public long? Expiration
    {
        get
        {
            // Serialized, a tag named expiration is always these bytes: no need to read the tags of the others.
            if (!_complete && _json.AsSpan().IndexOf("\"expiration\""u8) < 0) return null;
            foreach (var tag in Tags)
            {
                if (tag.Length < 2 || tag[0].Length != 10 || tag[0] != "expiration") continue;
                return long.TryParse(tag[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at) ? at : null;
            }
            return null;
        }
    }

    /// <summary>NIP-40: true when the event has expired by <paramref name="now"/> (unix seconds).</summary>
    public bool IsExpiredAt(long now) => Expiration is { } at && at <= now;

    public string JsonText => System.Text.Encoding.UTF8.GetString(Json);
}
