namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Management</c> section: the NIP-86 relay management API.</summary>
public sealed class RelayManagementOptions
{
    /// <summary>
    /// Pubkeys (64 hex) whose NIP-98 authorization is accepted; with none, every call is answered 401 and 86 is not
    /// in NIP-11's <c>supported_nips</c>. Default: none.
    /// </summary>
    public string[]? Admins { get; set; }

    /// <summary>How often each gateway renews its copy of the moderation state besides being told of changes. Default 5 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
}
