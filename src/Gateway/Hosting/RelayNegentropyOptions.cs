namespace NostrRelay.Hosting;

/// <summary>
/// The <c>Relay:Negentropy</c> section: NIP-77 set reconciliation. A session holds its filter's records in the
/// gateway's memory (40 bytes each) for as long as the client reconciles, so each bound here is a bound on memory.
/// The limits are advertised in the NIP-11 document's <c>limitation</c> (<c>negentropy_*</c>, not standard fields).
/// </summary>
public sealed class RelayNegentropyOptions
{
    /// <summary>Whether NEG-OPEN is served and 77 is in NIP-11's <c>supported_nips</c>. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The most events one NEG-OPEN's filter may match; more get <c>NEG-ERR "blocked: ..."</c> with this number, so the
    /// client can narrow the filter (by since and until) and reconcile in parts. Default 1,000,000 (40 MB held).
    /// </summary>
    public int MaxRecords { get; set; } = 1_000_000;

    /// <summary>Sessions one connection may have open at once; another NEG-OPEN gets <c>NEG-ERR "blocked: ..."</c>. Default 4.</summary>
    public int MaxSessions { get; set; } = 4;

    /// <summary>
    /// Records held by all sessions of this gateway together; a NEG-OPEN that would pass it gets
    /// <c>NEG-ERR "blocked: ..."</c> until others finish. Default 8,000,000 (320 MB).
    /// </summary>
    public long MaxRecordsHeld { get; set; } = 8_000_000;

    /// <summary>
    /// The most bytes of one negentropy message this relay sends (before hex, which doubles it); what does not fit
    /// is left for the next round. Default 500,000. At least 4,096.
    /// </summary>
    public int FrameSizeLimit { get; set; } = 500_000;

    /// <summary>A session the client has not used for this long is closed with <c>NEG-ERR "closed: ..."</c> and its records freed. Default 60 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
