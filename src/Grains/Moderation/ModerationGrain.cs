using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Moderation;

/// <summary>
/// The cluster's NIP-86 moderation state, persisted in the "relay" grain storage. Each change is written before it
/// is announced, then pushed to every gateway that subscribed (a one-way call each); gateways also renew their
/// subscription every few seconds, which carries the state, so one that missed a push (or a grain that moved to
/// another silo and lost its list) is current again within that time.
/// </summary>
internal sealed partial class ModerationGrain(
    [PersistentState("moderation", RelayGrainStorage.Name)] IPersistentState<ModerationState> state,
    IEventStore store,
    ILogger<ModerationGrain> logger) : Grain, IModerationGrain
{
    /// <summary>A gateway that has not renewed for this long is gone.</summary>
    private static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(2);

    private readonly Dictionary<IModerationObserver, DateTime> _observers = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Epoch == Guid.Empty)
        {
            state.State.Epoch = Guid.NewGuid();
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public Task<ModerationState> SubscribeAsync(IModerationObserver observer)
    {
        var now = DateTime.UtcNow;
        _observers[observer] = now + ObserverLifetime;
        List<IModerationObserver>? expired = null;
        foreach (var (known, until) in _observers)
            if (until < now) (expired ??= []).Add(known);
        if (expired is not null)
            foreach (var gone in expired) _observers.Remove(gone);
        return Task.FromResult(state.State);
    }

    public async Task<ModerationState> ApplyAsync(ModerationChange change)
    {
        var current = state.State;
        var value = change.Value;
        switch (change.Action)
        {
            case ModerationAction.BanPubkey: current.BannedPubkeys[value] = change.Reason; current.AllowedPubkeys.Remove(value); break;
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
                current.AllowedKinds.Remove(disallowed);
                break;
            case ModerationAction.BlockIp: current.BlockedIps[value] = change.Reason; break;
            case ModerationAction.UnblockIp: current.BlockedIps.Remove(value); break;
            case ModerationAction.ChangeName: current.Name = value; break;
            case ModerationAction.ChangeDescription: current.Description = value; break;
            case ModerationAction.ChangeIcon: current.Icon = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change.Action, "not a moderation action");
        }
        current.Version++;
        await state.WriteStateAsync();
        foreach (var observer in _observers.Keys)
        {
            try
            {
                _ = observer.ChangedAsync(current);
            }
            catch (Exception ex)
            {
                LogNotifyFailed(logger, ex);
            }
        }
        // After the gateways refuse it again: a copy published meanwhile would otherwise survive the removal.
        if (change.Action == ModerationAction.BanEvent) await store.DeleteAsync(value);
        return current;
    }

    [LoggerMessage(EventId = 330, Level = LogLevel.Warning, Message = "Telling a gateway of a moderation change failed")]
    private static partial void LogNotifyFailed(ILogger logger, Exception exception);
}
