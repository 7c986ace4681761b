namespace NostrRelay.Grains;

/// <summary>
/// Where a subscription stood when its shard was lost (its silo died): the newest created_at the client
/// was sent and the ids sent at that second. Re-registered with it, the subscription sends what the
/// client missed meanwhile, without EOSE and without repeating what it had.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.resume-point")]
public sealed record ResumePoint([property: Id(0)] long Since, [property: Id(1)] string[] SentAtSince);
