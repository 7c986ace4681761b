using System.Threading.RateLimiting;

namespace NostrRelay.Policies;

/// <summary>Token buckets by key (an address, a pubkey), from System.Threading.RateLimiting; idle buckets are dropped by its timer.</summary>
internal static class TokenBuckets
{
    /// <summary>Ten seconds' worth of tokens unless the burst is given.</summary>
    public static PartitionedRateLimiter<string> PerKey(double perSecond, int? burst)
    {
        if (!(perSecond > 0)) throw new ArgumentOutOfRangeException(nameof(perSecond), "a rate limit must be above 0 per second");
        // Whole tokens per period: 2.5/s becomes 5 every 2 s; 0.2/s becomes 1 every 5 s.
        var period = perSecond >= 1 && Math.Abs(perSecond - Math.Round(perSecond)) < 1e-9 ? TimeSpan.FromSeconds(1)
            : perSecond >= 1 ? TimeSpan.FromSeconds(2)
            : TimeSpan.FromSeconds(1 / perSecond);
        var tokensPerPeriod = Math.Max(1, (int)Math.Round(perSecond * period.TotalSeconds));
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst ?? (int)Math.Ceiling(perSecond * 10)),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => options), StringComparer.Ordinal);
    }
}
