using NostrRelay.Storage;

namespace NostrRelay.Expiry;

/// <summary>The <c>Relay:ExpiryPurge</c> section, and the <c>Relay:Retention</c> rules the same purge enforces.</summary>
public sealed class ExpiryPurgeOptions
{
    /// <summary>How often expired events are deleted from the store. Default 1 minute; they are never served after their time anyway.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Events deleted per store read; a purge goes on read after read for at most a second per tick. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Maximum ages by kind (<c>Relay:Retention</c>); none by default.</summary>
    public List<RetentionRule> Retention { get; set; } = [];
}
