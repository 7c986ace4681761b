using NostrRelay.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Information;

/// <summary>
/// Whether NIP-50 search is served: the event store this process opened says (every store of a composition must
/// search); a gateway-only process, which opens none, follows <see cref="RelayOptions.Search"/>. When not served, 50
/// is left out of NIP-11 and a filter with <c>search</c> is answered <c>CLOSED "unsupported: ..."</c>, never with
/// matches that ignore the words.
/// </summary>
internal sealed class SearchSupport(bool enabled)
{
    public bool Enabled { get; } = enabled;

    public static SearchSupport For(RelayOptions options, IEventStore? store) => new(options.Search ?? store?.CanSearch ?? false);
}
