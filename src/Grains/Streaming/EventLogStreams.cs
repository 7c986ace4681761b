using NostrRelay.Protocol;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>
/// The global event log as Orleans streams (provider <see cref="ProviderName"/>): every stored event, in global
/// position order, on the stream of everything, on its kind's stream and (when the silo turns them on) on its author's.
/// A grain or a client subscribes with the standard <c>IAsyncStream&lt;NostrEvent&gt;</c> API; the sequence token of an
/// event is its global position, so a consumer that keeps the last position it handled resumes gap-free: a client or
/// an explicit subscription with <see cref="From"/>(last + 1), an implicit subscriber with <see cref="After"/>(last).
/// Delivery is at least once, as for the relay's bookmarked consumers.
/// </summary>
public static class EventLogStreams
{
    /// <summary>The stream provider's name: <c>GetStreamProvider(EventLogStreams.ProviderName)</c>.</summary>
    public const string ProviderName = "nostr-log";

    /// <summary>The namespace of the stream of every event (key <c>all</c>), and of its implicit subscribers.</summary>
    public const string AllNamespace = "nostr-events";

    /// <summary>The namespace of the per-kind streams (key: the kind in decimal).</summary>
    public const string KindNamespace = "nostr-kind";

    /// <summary>The namespace of the per-author streams (key: the pubkey in lowercase hex).</summary>
    public const string AuthorNamespace = "nostr-author";

    public static StreamId All { get; } = StreamId.Create(AllNamespace, "all");

    public static StreamId OfKind(int kind) => StreamId.Create(KindNamespace, kind.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static StreamId OfAuthor(string pubkey) => StreamId.Create(AuthorNamespace, pubkey);

    /// <summary>
    /// The token to subscribe with (<c>SubscribeAsync(observer, token)</c>) to be delivered the events at
    /// <paramref name="position"/> and after it; position 1 is the start of the log.
    /// </summary>
    public static StreamSequenceToken From(long position) => new EventSequenceTokenV2(position);

    /// <summary>
    /// The token an implicit subscriber resumes with (<c>ResumeAsync(observer, token)</c> in <c>OnSubscribed</c>) to be
    /// delivered what follows <paramref name="position"/>, the last one it handled (0: from the start). Orleans takes an
    /// implicit subscriber's token as the last event it has, and an explicit one's as the first it wants.
    /// </summary>
    public static StreamSequenceToken After(long position) => new EventSequenceTokenV2(Math.Max(0, position));

    /// <summary>The global position a delivered event's token carries.</summary>
    public static long PositionOf(StreamSequenceToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return token.SequenceNumber;
    }

    /// <summary>Whether <paramref name="evt"/> is delivered on <paramref name="stream"/>.</summary>
    internal static bool Carries(StreamId stream, NostrEvent evt, bool authors)
    {
        if (stream.Equals(All)) return true;
        if (stream.Equals(OfKind(evt.Kind))) return true;
        return authors && stream.Equals(OfAuthor(evt.Pubkey));
    }
}
