namespace NostrRelay.Policies;

/// <summary>
/// What a policy decided. The default value accepts. A rejection carries the message the client sees, with the
/// NIP-01 machine-readable prefix its factory writes (<c>PolicyResult.Invalid("bad tag")</c> sends <c>invalid: bad tag</c>).
/// </summary>
public readonly record struct PolicyResult
{
    private PolicyResult(string? message, bool shadow)
    {
        Message = message;
        IsShadowRejected = shadow;
    }

    /// <summary>The prefixed reason for the client, or null when the policy accepts.</summary>
    public string? Message { get; }

    /// <summary>True when the event is dropped while the client is told <c>OK true</c> (strfry's shadowReject).</summary>
    public bool IsShadowRejected { get; }

    public bool IsRejected => Message is not null || IsShadowRejected;

    public static PolicyResult Accept => default;

    internal const string AuthRequiredPrefix = "auth-required:";

    /// <summary>Told OK true, never stored or delivered: for spam the sender should not learn was caught.</summary>
    public static PolicyResult ShadowReject => new(null, shadow: true);

    public static PolicyResult Blocked(string reason) => Reject("blocked", reason);
    public static PolicyResult RateLimited(string reason) => Reject("rate-limited", reason);
    public static PolicyResult Invalid(string reason) => Reject("invalid", reason);
    public static PolicyResult Pow(string reason) => Reject("pow", reason);
    public static PolicyResult Restricted(string reason) => Reject("restricted", reason);
    public static PolicyResult AuthRequired(string reason) => Reject("auth-required", reason);
    public static PolicyResult Error(string reason) => Reject("error", reason);

    /// <summary>A rejection whose message the caller wrote whole, prefix included (a plugin's <c>msg</c>).</summary>
    public static PolicyResult Rejected(string message) => new(message, shadow: false);

    private static PolicyResult Reject(string prefix, string reason) => new($"{prefix}: {reason}", shadow: false);
}
