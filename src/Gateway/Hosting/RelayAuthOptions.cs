namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Auth</c> section: NIP-42 authentication and what it gates.</summary>
public sealed class RelayAuthOptions
{
    /// <summary>Every EVENT, REQ and COUNT needs an authenticated pubkey first (<c>auth-required:</c>); NIP-11 <c>auth_required</c>. Default false.</summary>
    public bool Required { get; set; }

    /// <summary>
    /// Kinds served only to their author or a <c>p</c>-tagged recipient, once authenticated: stored, counted and live.
    /// A filter naming one of them needs AUTH first and must name the client's own pubkeys in <c>authors</c> or
    /// <c>#p</c>; a filter that names no kinds just leaves them out. Null (the default): 4 and 1059. Configured values
    /// replace the default.
    /// </summary>
    public int[]? PrivateKinds { get; set; }

    /// <summary>Whether private kinds are gated at all. Default true; false serves them to anyone.</summary>
    public bool GatePrivateKinds { get; set; } = true;

    /// <summary>The kinds gated in force.</summary>
    internal int[] GatedKinds => !GatePrivateKinds ? [] : PrivateKinds ?? [4, 1059];
}
