using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Auth;
using NostrRelay.Hosting;
using NostrRelay.Information;
using NostrRelay.Protocol;

using NostrRelay.Management;

namespace NostrRelay.Policies;

/// <summary>
/// Every policy in force, in the order it runs: the built-ins the configuration names, then the embedder's hooks
/// in the order they were added. Built once when the relay starts; a list with nothing in it is an empty array, so
/// an unused extension point costs one length check.
/// </summary>
internal sealed partial class PolicyPipeline
{
    private readonly ConnectionPolicy[] _connection;
    private readonly EventPolicy?[] _eventSync;
    private readonly IEventPolicy?[] _eventAsync;
    private readonly FilterPolicy[] _filter;
    private readonly FilterRewrite[] _rewriteFilter;
    private readonly RelayModeration? _moderation;
    private readonly DeliveryPolicy[] _delivery;
    private readonly OutgoingEventRewrite[] _rewriteOutgoing;
    private readonly Action<NostrEvent, ClientContext>[] _stored;
    private readonly Action<ClientContext>[] _connected;
    private readonly Action<ClientContext>[] _disconnected;
    private readonly ConnectionsPerIp? _connectionsPerIp;
    private readonly System.Threading.RateLimiting.PartitionedRateLimiter<string>? _reqRate;
    private readonly string? _reqRateMessage;
    private readonly ILogger _logger;
    private readonly int[]? _privateKinds;
    private readonly EventPolicy[] _vanish;

    public PolicyPipeline(IOptions<RelayOptions> options, IServiceProvider services, ILogger<PolicyPipeline> logger)
    {
        var relay = options.Value;
        var limits = relay.Limits;
        _logger = logger;
        _connection = [.. relay.RejectConnection];
        if (limits.ConnectionsPerIp is { } perIp) _connectionsPerIp = new ConnectionsPerIp(perIp);

        _moderation = services.GetService(typeof(RelayModeration)) as RelayModeration;
        var builtIn = BuiltInEventPolicies(relay, _moderation);
        var vanish = new List<EventPolicy>();
        if (limits.EventsPerSecondPerIp is { } vanishPerIp) vanish.Add(EventPolicies.RateLimitPerIp(vanishPerIp, limits.EventsBurstPerIp));
        vanish.Add(VanishRequests.MustNameThisRelay(new ThisRelay(relay.PublicUrls)));
        if (limits.CreatedAtLowerLimit is not null || limits.CreatedAtUpperLimit is not null)
            vanish.Add(EventPolicies.CreatedAtWithin(limits.CreatedAtLowerLimit, limits.CreatedAtUpperLimit));
        _vanish = [.. vanish];
        var added = relay.RejectEvent.Build(services);
        // The plugin runs last: it is the slowest, and what the others refuse need not cross a pipe.
        var plugin = relay.Policies.Plugin is { Length: > 0 } ? (IEventPolicy)services.GetService(typeof(WritePolicyPlugin))! : null;
        var count = builtIn.Count + added.Length + (plugin is null ? 0 : 1);
        _eventSync = new EventPolicy?[count];
        _eventAsync = new IEventPolicy?[count];
        var i = 0;
        foreach (var policy in builtIn) _eventSync[i++] = policy;
        foreach (var policy in added)
        {
            if (policy is EventPolicyList.DelegatePolicy wrapped) _eventSync[i++] = wrapped.Policy;
            else _eventAsync[i++] = policy;
        }
        if (plugin is not null) _eventAsync[i] = plugin;

        if (limits.ReqsPerSecondPerIp is { } reqs)
        {
            _reqRate = TokenBuckets.PerKey(reqs, limits.ReqsBurstPerIp);
            _reqRateMessage = PolicyResult.RateLimited($"slow down: at most {EventPolicies.Rate(reqs, "REQ")} from one address").Message;
        }
        var filters = new List<FilterPolicy>();
        if (!(services.GetService(typeof(SearchSupport)) as SearchSupport ?? new SearchSupport(false)).Enabled) filters.Add(SearchUnsupported);
        if (relay.Auth.Required) filters.Add(AuthPolicies.ReadsNeedAuth());
        if (relay.Auth.GatedKinds is { Length: > 0 } privateKinds) filters.Add(AuthPolicies.PrivateKindsNeedAuth(privateKinds));
        filters.AddRange(relay.RejectFilter);
        _filter = [.. filters];
        var deliveries = new List<DeliveryPolicy>();
        if (relay.Auth.GatedKinds is { Length: > 0 } gated) deliveries.Add(AuthPolicies.PrivateKindsToTheirParties(gated));
        deliveries.AddRange(relay.RejectDelivery);
        _privateKinds = relay.Auth.GatedKinds is { Length: > 0 } counted ? counted : null;
        _rewriteFilter = [.. relay.RewriteFilter];
        _delivery = [.. deliveries];
        _rewriteOutgoing = [.. relay.RewriteOutgoingEvent];
        HasEmbedderDeliveryHooks = relay.RejectDelivery.Count > 0 || _rewriteOutgoing.Length > 0;
        _stored = [.. relay.OnEventStored];
        _connected = [.. relay.OnConnect];
        _disconnected = [.. relay.OnDisconnect];
    }

    private static readonly PolicyResult NoSearch = PolicyResult.Rejected("unsupported: search (NIP-50) is not supported by this relay's store");

    /// <summary>A store that cannot search would answer as if the words were not there: refused instead.</summary>
    private static PolicyResult SearchUnsupported(Filter filter, ClientContext client) => filter.HasSearch ? NoSearch : PolicyResult.Accept;

    /// <summary>
    /// The configured built-ins, cheapest and most often hit first. The moderation lists are the gateway's copy of
    /// the configured and NIP-86 lists together when it keeps one, else the configured lists alone.
    /// </summary>
    private static List<EventPolicy> BuiltInEventPolicies(RelayOptions relay, RelayModeration? moderation)
    {
        var limits = relay.Limits;
        var lists = relay.Policies;
        var policies = new List<EventPolicy>();
        if (limits.EventsPerSecondPerIp is { } perIp) policies.Add(EventPolicies.RateLimitPerIp(perIp, limits.EventsBurstPerIp));
        if (relay.Auth.Required) policies.Add(AuthPolicies.EventsNeedAuth());
        if (moderation is not null) policies.Add(moderation.Policy);
        else policies.AddRange(Moderation(lists));
        policies.Add(AuthPolicies.ProtectedEvents(relay.Auth.GatedKinds));
        policies.Add(AuthPolicies.AuthEventsAreNotPublished());
        policies.Add(EventPolicies.NotExpired());
        if (limits.CreatedAtLowerLimit is not null || limits.CreatedAtUpperLimit is not null)
            policies.Add(EventPolicies.CreatedAtWithin(limits.CreatedAtLowerLimit, limits.CreatedAtUpperLimit));
        if (limits.MinPowDifficulty is { } pow and > 0) policies.Add(EventPolicies.MinPowDifficulty(pow));
        if (limits.EventsPerSecondPerPubkey is { } perPubkey) policies.Add(EventPolicies.RateLimitPerPubkey(perPubkey, limits.EventsBurstPerPubkey));
        if (limits.EventsPerSecondPerAuthedPubkey is { } perAuthed)
            policies.Add(EventPolicies.RateLimitPerAuthenticatedPubkey(perAuthed, limits.EventsBurstPerAuthedPubkey));
        return policies;
    }

    /// <summary>The allow and deny lists: they bind imports as well as clients, so the Silo's import command uses them too.</summary>
    public static List<EventPolicy> Moderation(RelayPolicyOptions lists)
    {
        var policies = new List<EventPolicy>();
        if (lists.DeniedPubkeys is { Length: > 0 } deniedPubkeys) policies.Add(EventPolicies.DenyPubkeys(deniedPubkeys));
        if (lists.AllowedPubkeys is { } allowedPubkeys) policies.Add(EventPolicies.AllowPubkeys(allowedPubkeys));
        if (lists.DeniedKinds is { Length: > 0 } deniedKinds) policies.Add(EventPolicies.DenyKinds(deniedKinds));
        if (lists.AllowedKinds is { } allowedKinds) policies.Add(EventPolicies.AllowKinds(allowedKinds));
        return policies;
    }

    public bool HasDeliveryPolicies => _delivery.Length > 0 || _rewriteOutgoing.Length > 0;

    /// <summary>
    /// True when an embedder decides per event, at delivery, what a subscriber may read (<c>RejectDelivery</c>,
    /// <c>RewriteOutgoingEvent</c>): a reconciliation, which never delivers, cannot ask them.
    /// </summary>
    public bool HasEmbedderDeliveryHooks { get; private set; }

    /// <summary>Null to let the request upgrade; else the status and message to answer it with.</summary>
    public (int Status, string Message)? CheckConnection(HttpContext context) => CheckConnection(context.Connection.RemoteIpAddress, context);

    /// <summary>
    /// The first refusal for a WebSocket request from <paramref name="remoteIp"/>, or null; a refusal from the per-IP
    /// limit takes no slot. <paramref name="context"/> may be null only when no <c>RejectConnection</c> hook is configured.
    /// </summary>
    public (int Status, string Message)? CheckConnection(IPAddress? remoteIp, HttpContext? context)
    {
        if (_moderation is not null && _moderation.Current.IsBlocked(remoteIp)) return (403, "blocked: your address is blocked here");
        foreach (var policy in _connection)
        {
            PolicyResult result;
            try
            {
                result = policy(context!);
            }
            catch (Exception ex)
            {
                LogHookFailed(_logger, ex, nameof(RelayOptions.RejectConnection));
                return (500, "error: a relay policy failed on this connection");
            }
            if (result.Message is { } message) return (message.StartsWith("rate-limited:", StringComparison.Ordinal) ? 429 : 403, message);
        }
        if (_connectionsPerIp is { } perIp && !perIp.TryEnter(remoteIp))
            return (429, $"rate-limited: at most {perIp.Limit} connections from one address");
        return null;
    }

    /// <summary>Gives back the connection slot <see cref="CheckConnection(IPAddress?, HttpContext?)"/> took for the address.</summary>
    public void ConnectionEnded(IPAddress? remoteIp) => _connectionsPerIp?.Leave(remoteIp);

    /// <summary>
    /// The first rejection, or accept; completes synchronously unless an <see cref="IEventPolicy"/> waits. A policy that
    /// throws refuses the event with <c>error:</c> (logged): an embedder's bug never ends the client's connection.
    /// </summary>
    public ValueTask<PolicyResult> CheckEventAsync(NostrEvent evt, ClientContext client)
    {
        if (evt.Kind == VanishRequests.Kind) return ValueTask.FromResult(CheckVanish(evt, client));
        try
        {
            for (var i = 0; i < _eventSync.Length; i++)
            {
                PolicyResult result;
                if (_eventSync[i] is { } policy) result = policy(evt, client);
                else
                {
                    var pending = _eventAsync[i]!.CheckAsync(evt, client, CancellationToken.None);
                    if (!pending.IsCompletedSuccessfully) return AwaitRestAsync(pending, i, evt, client);
                    result = pending.Result;
                }
                if (result.IsRejected) return ValueTask.FromResult(result);
            }
            return default;
        }
        catch (Exception ex)
        {
            LogPolicyFailed(_logger, ex, evt.Id);
            return ValueTask.FromResult(PolicyFailed);
        }
    }

    /// <summary>NIP-62: a request to vanish that names this relay passes every other rule but the address rate limit and the time limits.</summary>
    private PolicyResult CheckVanish(NostrEvent evt, ClientContext client)
    {
        foreach (var policy in _vanish)
            if (policy(evt, client) is { IsRejected: true } refused) return refused;
        return PolicyResult.Accept;
    }

    private async ValueTask<PolicyResult> AwaitRestAsync(ValueTask<PolicyResult> pending, int index, NostrEvent evt, ClientContext client)
    {
        try
        {
            var result = await pending.ConfigureAwait(false);
            if (result.IsRejected) return result;
            for (var i = index + 1; i < _eventSync.Length; i++)
            {
                result = _eventSync[i] is { } policy ? policy(evt, client) : await _eventAsync[i]!.CheckAsync(evt, client, CancellationToken.None).ConfigureAwait(false);
                if (result.IsRejected) return result;
            }
            return default;
        }
        catch (Exception ex)
        {
            LogPolicyFailed(_logger, ex, evt.Id);
            return PolicyFailed;
        }
    }

    private static readonly PolicyResult PolicyFailed = PolicyResult.Error("a relay policy failed on this event; try again later");

    /// <summary>Checks a REQ's filters and rewrites them in place; the first rejection's message, or null.</summary>
    public string? CheckFilters(Filter[] filters, ClientContext client)
    {
        if (_reqRate is { } rate)
        {
            using var lease = rate.AttemptAcquire(client.AddressKey);
            if (!lease.IsAcquired) return _reqRateMessage;
        }
        if (_filter.Length == 0 && _rewriteFilter.Length == 0) return null;
        try
        {
            for (var f = 0; f < filters.Length; f++)
            {
                foreach (var policy in _filter)
                    if (policy(filters[f], client).Message is { } message) return message;
                foreach (var rewrite in _rewriteFilter) filters[f] = rewrite(filters[f], client);
            }
            return null;
        }
        catch (Exception ex)
        {
            LogHookFailed(_logger, ex, nameof(RelayOptions.RejectFilter));
            return "error: a relay policy failed on this request; try again later";
        }
    }

    /// <summary>
    /// What a COUNT must leave out: events of the private kinds, unless one of the connection's authenticated pubkeys
    /// wrote them or is <c>p</c>-tagged (a count cannot pass through the delivery veto, so the count grain applies it).
    /// </summary>
    public (int[]? PrivateKinds, string[]? Parties) CountScope(ClientContext client) =>
        _privateKinds is null ? (null, null) : (_privateKinds, client.IsAuthenticated ? [.. client.AuthenticatedPubkeys] : null);

    /// <summary>The event to send this subscriber, or null to keep it from them.</summary>
    /// <remarks>A hook that throws keeps the event from this subscriber (logged); the others still get it.</remarks>
    public NostrEvent? Outgoing(NostrEvent evt, ClientContext client)
    {
        try
        {
            foreach (var veto in _delivery)
                if (veto(evt, client)) return null;
            foreach (var rewrite in _rewriteOutgoing) evt = rewrite(evt, client);
            return evt;
        }
        catch (Exception ex)
        {
            LogHookFailed(_logger, ex, nameof(RelayOptions.RejectDelivery));
            return null;
        }
    }

    public void Stored(NostrEvent evt, ClientContext client)
    {
        foreach (var hook in _stored)
        {
            try { hook(evt, client); }
            catch (Exception ex) { LogHookFailed(_logger, ex, nameof(RelayOptions.OnEventStored)); }
        }
    }

    public void Connected(ClientContext client) => Notify(_connected, client, nameof(RelayOptions.OnConnect));

    public void Disconnected(ClientContext client) => Notify(_disconnected, client, nameof(RelayOptions.OnDisconnect));

    private void Notify(Action<ClientContext>[] hooks, ClientContext client, string name)
    {
        foreach (var hook in hooks)
        {
            try { hook(client); }
            catch (Exception ex) { LogHookFailed(_logger, ex, name); }
        }
    }

    [LoggerMessage(EventId = 701, Level = LogLevel.Error, Message = "An event policy threw on event {EventId}; the event is refused with error:")]
    private static partial void LogPolicyFailed(ILogger logger, Exception exception, string eventId);

    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "A {Hook} hook threw; the relay goes on without it")]
    private static partial void LogHookFailed(ILogger logger, Exception exception, string hook);
}
