using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>One filter of one subscription, filed under the keys of its most selective condition.</summary>
internal sealed class IndexEntry(LiveSubscription subscription, Filter filter, IndexKeyKind keyKind)
{
    public LiveSubscription Subscription { get; } = subscription;
    public Filter Filter { get; } = filter;
    public IndexKeyKind KeyKind { get; } = keyKind;
    public FilterMatcher Matcher { get; } = new(filter);
}
