using System.Globalization;

namespace NostrRelay.Grains;

/// <summary>
/// Where a subscription stood when its shard was lost (its silo died): resend stored events created at or
/// after <see cref="Since"/>, except those the client was already sent, named by the first 8 bytes of their
/// ids (<see cref="IdKey"/>: compact, and two ids sharing them is a 1 in 2^64 chance). Re-registered with it,
/// the subscription sends what the client missed meanwhile, without EOSE and without repeating what it had.
/// </summary>
/// <param name="AfterPosition">
/// A store position the lost activation had matched everything up to (<see cref="DeliveryBatch.Through"/>, a second or
/// more before the loss): the events stored past it are read too, whatever their created_at, so one signed long before
/// the newest the client had is not missed. 0 when unknown (an older gateway, or nothing delivered yet): then only
/// <see cref="Since"/> counts.
/// </param>
[GenerateSerializer, Immutable, Alias("relay.resume-point")]
public sealed record ResumePoint([property: Id(0)] long Since, [property: Id(1)] long[] Sent, [property: Id(2)] long AfterPosition = 0)
{
    /// <summary>The first 16 hex digits of an event id as a number.</summary>
    public static long IdKey(string id) => long.Parse(id.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
