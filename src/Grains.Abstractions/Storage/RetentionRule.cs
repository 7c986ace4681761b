namespace NostrRelay.Storage;

/// <summary>
/// How long stored events of some kinds are kept (<c>Relay:Retention:N</c>; NIP-11 <c>retention</c>): the background
/// purge deletes those whose created_at is more than <see cref="Time"/> seconds ago.
/// </summary>
public sealed class RetentionRule
{
    /// <summary>The kinds the rule covers; null for every kind (then a longer rule for some kinds is cut short by it).</summary>
    public int[]? Kinds { get; set; }

    /// <summary>Seconds an event is kept after its created_at.</summary>
    public long Time { get; set; }
}
