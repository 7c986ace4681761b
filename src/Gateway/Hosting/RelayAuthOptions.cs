namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Auth</c> section: NIP-42 authentication and what it gates.</summary>
public sealed class RelayAuthOptions
{
    /// <summary>Every EVENT, REQ and COUNT needs an authenticated pubkey first (<c>auth-required:</c>); NIP-11 <c>auth_required</c>. Default false.</summary>
    public bool Required { get; set; }

    /// <summary>
    /// Kinds served only to their author or a <c>p</c>-tagged recipient, once authenticated: stored, counted and live.
    /// A filter naming one of them needs AUTH first; a filter that names no kinds just leaves them out. Default 4 and 1059.
    /// </summary>
    public int[] PrivateKinds { get; set; } = [4, 1059];
}
