using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// Built-in event policies. Each factory does its one-time work (sets, limiters) outside the delegate it returns;
/// the relay adds the ones its configuration names, and an embedder may add any of them in code.
/// </summary>
public static class EventPolicies
{
    /// <summary>Only the listed kinds are accepted.</summary>
    public static EventPolicy AllowKinds(IEnumerable<int> kinds)
    {
        var allowed = new HashSet<int>(kinds);
        return (evt, _) => allowed.Contains(evt.Kind) ? PolicyResult.Accept : PolicyResult.Blocked($"kind {evt.Kind} is not accepted here");
    }

    /// <summary>The listed kinds are refused.</summary>
    public static EventPolicy DenyKinds(IEnumerable<int> kinds)
    {
        var denied = new HashSet<int>(kinds);
        return (evt, _) => denied.Contains(evt.Kind) ? PolicyResult.Blocked($"kind {evt.Kind} is not accepted here") : PolicyResult.Accept;
    }

    /// <summary>Only the listed authors may publish.</summary>
    public static EventPolicy AllowPubkeys(IEnumerable<string> pubkeys)
    {
        var allowed = new HashSet<string>(pubkeys, StringComparer.Ordinal);
        return (evt, _) => allowed.Contains(evt.Pubkey) ? PolicyResult.Accept : PolicyResult.Restricted("this relay accepts events from its members only");
    }

    /// <summary>The listed authors are refused.</summary>
    public static EventPolicy DenyPubkeys(IEnumerable<string> pubkeys)
    {
        var denied = new HashSet<string>(pubkeys, StringComparer.Ordinal);
        return (evt, _) => denied.Contains(evt.Pubkey) ? PolicyResult.Blocked("this pubkey may not publish here") : PolicyResult.Accept;
    }

    /// <summary>NIP-40: an event that has already expired is refused.</summary>
    public static EventPolicy NotExpired(TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        return (evt, _) => evt.IsExpiredAt(clock.GetUtcNow().ToUnixTimeSeconds())
            ? PolicyResult.Invalid("event has expired (NIP-40)")
            : PolicyResult.Accept;
    }

    /// <summary>
    /// created_at at most <paramref name="secondsBefore"/> seconds in the past and at most <paramref name="secondsAfter"/>
    /// in the future (null: no bound on that side).
    /// </summary>
    public static EventPolicy CreatedAtWithin(long? secondsBefore, long? secondsAfter, TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        return (evt, _) =>
        {
            var now = clock.GetUtcNow().ToUnixTimeSeconds();
            // Compared as differences, so a created_at near long.MaxValue cannot overflow past the check.
            if (secondsAfter is { } after && evt.CreatedAt > now && evt.CreatedAt - now > after)
                return PolicyResult.Invalid($"created_at is more than {after} seconds in the future");
            if (secondsBefore is { } before && evt.CreatedAt < now && now - evt.CreatedAt > before)
                return PolicyResult.Invalid($"created_at is more than {before} seconds in the past");
            return PolicyResult.Accept;
        };
    }

    /// <summary>NIP-13: the id needs <paramref name="difficulty"/> leading zero bits, and a committed target may not be lower.</summary>
    public static EventPolicy MinPowDifficulty(int difficulty)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(difficulty);
        return (evt, _) =>
        {
            var actual = ProofOfWork.Difficulty(evt.Id);
            if (actual < difficulty) return PolicyResult.Pow($"difficulty {actual} is below {difficulty}");
            if (ProofOfWork.CommittedTarget(evt) is { } target && target < difficulty)
                return PolicyResult.Pow($"committed target {target} is below {difficulty}");
            return PolicyResult.Accept;
        };
    }

    /// <summary>A token bucket per client address: <paramref name="perSecond"/> EVENTs a second, <paramref name="burst"/> at once.</summary>
    public static EventPolicy RateLimitPerIp(double perSecond, int? burst = null) =>
        RateLimit(perSecond, burst, "address", static (_, client) => client.AddressKey);

    /// <summary>A token bucket per author: <paramref name="perSecond"/> EVENTs a second, <paramref name="burst"/> at once.</summary>
    public static EventPolicy RateLimitPerPubkey(double perSecond, int? burst = null) =>
        RateLimit(perSecond, burst, "author", static (evt, _) => evt.Pubkey);

    /// <summary>
    /// A token bucket per authenticated pubkey (NIP-42), whoever's events the connection sends: the event's author when
    /// the connection proved it, else the first pubkey it proved. Connections that proved none are not limited here.
    /// </summary>
    public static EventPolicy RateLimitPerAuthenticatedPubkey(double perSecond, int? burst = null) =>
        RateLimit(perSecond, burst, "authenticated pubkey", static (evt, client) =>
        {
            if (!client.IsAuthenticated) return null;
            if (client.IsAuthenticatedAs(evt.Pubkey)) return evt.Pubkey;
            foreach (var pubkey in client.AuthenticatedPubkeys) return pubkey;
            return null;
        });

    /// <summary>The refusal is made once: a flood of refused events allocates no message each. A null key is not limited.</summary>
    private static EventPolicy RateLimit(double perSecond, int? burst, string from, Func<NostrEvent, ClientContext, string?> key)
    {
        var buckets = TokenBuckets.PerKey(perSecond, burst);
        var limited = PolicyResult.RateLimited($"slow down: at most {Rate(perSecond, "event")} from one {from}");
        return (evt, client) =>
        {
            if (key(evt, client) is not { } bucket) return PolicyResult.Accept;
            using var lease = buckets.AttemptAcquire(bucket);
            return lease.IsAcquired ? PolicyResult.Accept : limited;
        };
    }

    /// <summary>"1 event a second", "2.5 events a second".</summary>
    internal static string Rate(double perSecond, string what) =>
        perSecond == 1 ? $"1 {what} a second" : $"{perSecond.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} {what}s a second";
}
