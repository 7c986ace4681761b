using NostrRelay.Consumers;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Streaming;
using NostrRelay.Streams;
using NostrRelay.Sync;
using Orleans.Runtime;

namespace NostrRelay.Grains.Tests.Wire;

/// <summary>One fixed value of every type that silos and gateways send each other or keep in grain storage.</summary>
internal static class WireSamples
{
    private static readonly string A = new('a', 64), B = new('b', 64), C = new('c', 64);

    private static NostrEvent Event() => CanonicalJson.CreateEvent(A, B, 1_700_000_000, 1, [["e", C], ["t", "wire"]], "sent between silos", new string('d', 128));

    private static Filter Filter() => new()
    {
        Ids = [A], Authors = [B], Kinds = [1, 30023], Tags = [new TagFilter('t', ["wire", "nostr"])],
        Since = 1_600_000_000, Until = 1_800_000_000, Limit = 50, Search = "between silos",
    };

    private static NegentropySet Records()
    {
        var builder = new NegentropySet.Builder();
        builder.Add(1_700_000_000, A);
        builder.Add(1_700_000_001, B);
        return builder.Build();
    }

    public static IReadOnlyDictionary<string, Func<object>> All { get; } = new Dictionary<string, Func<object>>(StringComparer.Ordinal)
    {
        ["NostrEvent"] = () => Event(),
        ["Filter"] = () => Filter(),
        ["TagFilter"] = () => new TagFilter('p', [A, B]),
        ["LiveEvent"] = () => new LiveEvent(Event(), 7, 42),
        ["Delivery"] = () => new Delivery(9, "sub", DeliveryKind.Event, Event(), null),
        ["Delivery (message)"] = () => new Delivery(9, "sub", DeliveryKind.Closed, null, "error: shutting down"),
        ["DeliveryBatch"] = () => new DeliveryBatch([Delivery.ForEvent(9, "sub", Event())], new Guid("0f8fad5b-d9cb-469f-a165-70867728950e")),
        ["DeliveryBatch (numbered)"] = () => new DeliveryBatch([Delivery.ForEvent(9, "sub", Event())], new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"), 7),
        ["DeliveryBatch (through a position)"] = () => new DeliveryBatch([Delivery.ForEvent(9, "sub", Event())], new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"), 7, 4_242),
        ["DeliveryReceipt"] = () => new DeliveryReceipt(true, [new Backlog(9, 2)], [11, 12]),
        ["EventBatch"] = () => new EventBatch([new LiveEvent(Event(), 7, 42)], Redriven: true),
        ["AppendResult"] = () => new AppendResult(AppendStatus.Accepted, "", 7, 42),
        ["ResumePoint"] = () => new ResumePoint(1_700_000_000, [40, 41]),
        ["ResumePoint (after a position)"] = () => new ResumePoint(1_700_000_000, [40, 41], 4_242),
        ["CountRequest"] = () => new CountRequest([Filter()], [4], [A], 3),
        ["CountResult"] = () => new CountResult(12, [1, 2, 3], Approximate: true),
        ["InterestKey"] = () => new InterestKey(InterestKind.Tag, "wire", 't', 0),
        ["InterestUpdate"] = () => new InterestUpdate(3, 4, [new InterestKey(InterestKind.Author, A)], [new InterestKey(InterestKind.Kind, "", Number: 7)]),
        ["NegentropyRequest"] = () => new NegentropyRequest(Filter(), 100_000, [4], [A]),
        ["NegentropyRead"] = () => new NegentropyRead(Records(), 2),
        ["ModerationChange"] = () => new ModerationChange(ModerationAction.BanPubkey, A, "spam"),
        ["ModerationState"] = () => new ModerationState
        {
            Epoch = new Guid("7c9e6679-7425-40de-944b-e07fc1f90ae7"), Version = 5, BannedPubkeys = { [A] = "spam" }, AllowedKinds = [1, 7],
            BlockedIps = { ["192.0.2.1"] = null }, Name = "wire relay",
        },
        ["VanishRecord"] = () => new VanishRecord { Until = 1_700_000_000, RequestId = C, Purged = true },
        ["ConsumerBookmark"] = () => new ConsumerBookmark { Position = 42 },
        ["EventLogBatch"] = () => EventLogBatch.Of(StreamId.Create("relay.log", A), 42, Event()),
    };
}
