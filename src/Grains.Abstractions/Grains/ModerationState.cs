namespace NostrRelay.Grains;

/// <summary>
/// The relay's moderation as operators set it through NIP-86, kept by the moderation grain in grain storage and
/// copied to every gateway: banned and allowed pubkeys and events (with the reason given), allowed and disallowed
/// kinds, blocked addresses, and the NIP-11 name, description and icon when changed. <see cref="Version"/> grows with
/// every change; <see cref="Epoch"/> is new when the state starts afresh, so a gateway can tell an older copy.
/// </summary>
[GenerateSerializer, Alias("relay.moderation-state")]
public sealed class ModerationState
{
    [Id(0)] public Guid Epoch { get; set; }
    [Id(1)] public long Version { get; set; }
    [Id(2)] public Dictionary<string, string?> BannedPubkeys { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public Dictionary<string, string?> AllowedPubkeys { get; set; } = new(StringComparer.Ordinal);
    [Id(4)] public Dictionary<string, string?> BannedEvents { get; set; } = new(StringComparer.Ordinal);
    [Id(5)] public Dictionary<string, string?> AllowedEvents { get; set; } = new(StringComparer.Ordinal);
    [Id(6)] public List<int> AllowedKinds { get; set; } = [];
    [Id(7)] public List<int> DisallowedKinds { get; set; } = [];
    [Id(8)] public Dictionary<string, string?> BlockedIps { get; set; } = new(StringComparer.Ordinal);
    [Id(9)] public string? Name { get; set; }
    [Id(10)] public string? Description { get; set; }
    [Id(11)] public string? Icon { get; set; }

    /// <summary>A copy to change: the grain's own state changes only once the copy is stored.</summary>
    public ModerationState Clone() => new()
    {
        Epoch = Epoch,
        Version = Version,
        BannedPubkeys = new(BannedPubkeys, StringComparer.Ordinal),
        AllowedPubkeys = new(AllowedPubkeys, StringComparer.Ordinal),
        BannedEvents = new(BannedEvents, StringComparer.Ordinal),
        AllowedEvents = new(AllowedEvents, StringComparer.Ordinal),
        AllowedKinds = [.. AllowedKinds],
        DisallowedKinds = [.. DisallowedKinds],
        BlockedIps = new(BlockedIps, StringComparer.Ordinal),
        Name = Name,
        Description = Description,
        Icon = Icon,
    };

    /// <summary>True when <paramref name="other"/> is a later state than this one (or of another epoch).</summary>
    public bool IsOlderThan(ModerationState other) => other.Epoch != Epoch || other.Version > Version;
}
