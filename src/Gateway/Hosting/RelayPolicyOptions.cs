namespace NostrRelay.Hosting;

/// <summary>
/// The <c>Relay:Policies</c> section: who and what may publish here. An allow list, when set, admits only what it
/// names (NIP-11 then says <c>restricted_writes</c>); a deny list refuses what it names. Lists apply to clients'
/// EVENTs and to <c>import</c>.
/// </summary>
public sealed class RelayPolicyOptions
{
    /// <summary>Only these kinds are accepted (<c>blocked:</c> otherwise). Default: all.</summary>
    public int[]? AllowedKinds { get; set; }

    /// <summary>These kinds are refused (<c>blocked:</c>). Default: none.</summary>
    public int[]? DeniedKinds { get; set; }

    /// <summary>Only these authors (64 hex) may publish (<c>restricted:</c> otherwise). Default: everyone.</summary>
    public string[]? AllowedPubkeys { get; set; }

    /// <summary>These authors (64 hex) are refused (<c>blocked:</c>). Default: none.</summary>
    public string[]? DeniedPubkeys { get; set; }

    /// <summary>
    /// An executable speaking strfry's write-policy plugin protocol (one JSON request a line on stdin, one answer a
    /// line on stdout), asked about every client EVENT the other policies accepted. Default: none.
    /// </summary>
    public string? Plugin { get; set; }

    /// <summary>How long the plugin may take over one event before it is refused with <c>error:</c>. Default 5 s.</summary>
    public TimeSpan PluginTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
