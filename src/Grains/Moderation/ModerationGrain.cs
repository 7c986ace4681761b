using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Moderation;

/// <summary>
/// The cluster's NIP-86 moderation state, persisted in the "relay" grain storage. A change is made on a copy, which
/// becomes the state only once stored; then it is pushed to every gateway that subscribed (a one-way call each).
/// Gateways also renew their subscription every few seconds and get the state back when theirs is behind, so one that
/// missed a push (or a grain that moved to another silo and lost its list) is current again within that time. Each
/// activation starts a new epoch, so a gateway takes the stored state after a move whatever version it held.
/// </summary>
internal sealed partial class ModerationGrain(
    [PersistentState("moderation", RelayGrainStorage.Name)] IPersistentState<ModerationState> state,
    IEventStore store,
    ILogger<ModerationGrain> logger) : Grain, IModerationGrain
{
    /// <summary>A gateway that has not renewed for this long is gone.</summary>
    private static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(2);

    private readonly Dictionary<IModerationObserver, DateTime> _observers = [];
    private readonly Dictionary<string, DateTime> _claimed = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var fresh = state.State.Clone();
        fresh.Epoch = Guid.NewGuid();
        state.State = fresh;
        await state.WriteStateAsync(cancellationToken);
    }

    public Task<ModerationState?> SubscribeAsync(IModerationObserver observer, Guid epoch, long version)
    {
        var now = DateTime.UtcNow;
        _observers[observer] = now + ObserverLifetime;
        List<IModerationObserver>? expired = null;
        foreach (var (known, until) in _observers)
            if (until < now) (expired ??= []).Add(known);
        if (expired is not null)
            foreach (var gone in expired) _observers.Remove(gone);
        var current = state.State;
        return Task.FromResult(current.Epoch == epoch && current.Version == version ? null : current);
    }

    public Task<bool> ClaimAuthorizationAsync(string signature, int forSeconds)
    {
        var now = DateTime.UtcNow;
        if (_claimed.Count > 1_000)
            foreach (var (known, until) in _claimed.ToArray())
                if (until < now) _claimed.Remove(known);
        if (_claimed.TryGetValue(signature, out var held) && held >= now) return Task.FromResult(false);
        _claimed[signature] = now.AddSeconds(forSeconds);
        return Task.FromResult(true);
    }

    public async Task<ModerationState> ApplyAsync(ModerationChange change)
    {
        var previous = state.State;
        var next = previous.Clone();
        Change(next, change);
        next.Version++;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;   // not stored: not made, and not announced
            throw;
        }
        foreach (var observer in _observers.Keys)
        {
            try
            {
                _ = observer.ChangedAsync(next);
            }
            catch (Exception ex)
            {
                LogNotifyFailed(logger, ex);
            }
        }
        if (change.Action == ModerationAction.BanEvent)
        {
            try
            {
                await store.DeleteAsync(change.Value);
            }
            catch (Exception ex)
            {
                LogRemoveFailed(logger, ex, change.Value);
                throw new InvalidOperationException("the event is banned, but removing it from the store failed; call banevent again");
            }
        }
        return next;
    }

    /// <remarks>A ban does not take the pubkey or kind off an allow list (the ban wins anyway): emptying the list would open the relay.</remarks>
    private static void Change(ModerationState current, ModerationChange change)
    {
        var value = change.Value;
        switch (change.Action)
        {
            case ModerationAction.BanPubkey: current.BannedPubkeys[value] = change.Reason; break;
            case ModerationAction.UnbanPubkey: current.BannedPubkeys.Remove(value); break;
            case ModerationAction.AllowPubkey: current.AllowedPubkeys[value] = change.Reason; current.BannedPubkeys.Remove(value); break;
            case ModerationAction.UnallowPubkey: current.AllowedPubkeys.Remove(value); break;
            case ModerationAction.BanEvent: current.BannedEvents[value] = change.Reason; current.AllowedEvents.Remove(value); break;
            case ModerationAction.UnbanEvent: current.BannedEvents.Remove(value); break;
            case ModerationAction.AllowEvent: current.AllowedEvents[value] = change.Reason; current.BannedEvents.Remove(value); break;
            case ModerationAction.UnallowEvent: current.AllowedEvents.Remove(value); break;
            case ModerationAction.AllowKind:
                var allowed = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                if (!current.AllowedKinds.Contains(allowed)) current.AllowedKinds.Add(allowed);
                current.DisallowedKinds.Remove(allowed);
                break;
            case ModerationAction.DisallowKind:
                var disallowed = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                if (!current.DisallowedKinds.Contains(disallowed)) current.DisallowedKinds.Add(disallowed);
                break;
            case ModerationAction.BlockIp: current.BlockedIps[value] = change.Reason; break;
            case ModerationAction.UnblockIp: current.BlockedIps.Remove(value); break;
            case ModerationAction.ChangeName: current.Name = value; break;
            case ModerationAction.ChangeDescription: current.Description = value; break;
            case ModerationAction.ChangeIcon: current.Icon = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change.Action, "not a moderation action");
        }
    }

    [LoggerMessage(EventId = 330, Level = LogLevel.Warning, Message = "Telling a gateway of a moderation change failed")]
    private static partial void LogNotifyFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 331, Level = LogLevel.Error, Message = "Removing banned event {EventId} from the store failed")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string eventId);
}
