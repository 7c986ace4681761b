using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Information;
using NostrRelay.Policies;

namespace NostrRelay.Management;

/// <summary>
/// This gateway's copy of the relay's moderation (the configured lists and the NIP-86 state), which the policy
/// pipeline checks every EVENT and connection against. The moderation grain pushes each change here as it is made;
/// every <see cref="RelayManagementOptions.RefreshInterval"/> the subscription is renewed and brings the state along,
/// so a push lost with a silo costs at most that long. Loaded before the gateway takes connections.
/// </summary>
internal sealed partial class RelayModeration : IModerationObserver, IHostedService
{
    private readonly IGrainFactory _grains;
    private readonly RelayOptions _options;
    private readonly RelayInformation _information;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private IModerationObserver? _reference;
    private Task _renewing = Task.CompletedTask;
    private volatile ModerationSnapshot _current;

    public RelayModeration(IGrainFactory grains, IOptions<RelayOptions> options, RelayInformation information, ILogger<RelayModeration> logger)
    {
        _grains = grains;
        _options = options.Value;
        _information = information;
        _logger = logger;
        _current = new ModerationSnapshot(_options.Policies, new ModerationState());
    }

    public ModerationSnapshot Current => _current;

    /// <summary>The moderation lists as one policy of the pipeline: configured and NIP-86 alike.</summary>
    public EventPolicy Policy => (evt, client) => _current.Check(evt, client);

    /// <summary>When the last change this gateway applied was made known to it (for measuring how fast bans spread).</summary>
    public DateTimeOffset LastChanged { get; private set; }

    /// <remarks>
    /// Tries a few times to have the state before connections are taken; a cluster that does not answer does not
    /// keep the relay from starting (with the configured lists alone until the renewals reach it).
    /// </remarks>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _reference = _grains.CreateObjectReference<IModerationObserver>(this);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await RenewOnceAsync(cancellationToken);
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRenewFailed(_logger, ex);
                if (attempt == 3) break;
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        _renewing = RenewAsync();
    }

    private async Task RenewOnceAsync(CancellationToken cancellationToken)
    {
        var held = _current.State;
        if (await _grains.GetGrain<IModerationGrain>(0).SubscribeAsync(_reference!, held.Epoch, held.Version).WaitAsync(cancellationToken) is { } newer)
            Apply(newer);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stopping.IsCancellationRequested) _stopping.Cancel();
        await _renewing;
        // StopAsync may run twice (an embedder stopping the host, then disposing it): release once.
        if (Interlocked.Exchange(ref _reference, null) is { } reference) _grains.DeleteObjectReference<IModerationObserver>(reference);
    }

    public Task ChangedAsync(ModerationState state)
    {
        Apply(state);
        return Task.CompletedTask;
    }

    /// <summary>A state from the grain: kept when it is later than this copy.</summary>
    public void Apply(ModerationState state)
    {
        lock (_stopping)
        {
            var current = _current.State;
            if (current.Epoch != Guid.Empty && !current.IsOlderThan(state)) return;
            _current = new ModerationSnapshot(_options.Policies, state);
            LastChanged = DateTimeOffset.UtcNow;
            _information.Change(state.Name, state.Description, state.Icon, restrictsWrites: _current.AllowedKinds is not null || _current.RestrictsPubkeys);
        }
    }

    private async Task RenewAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.Management.RefreshInterval, _stopping.Token);
                await RenewOnceAsync(_stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogRenewFailed(_logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 610, Level = LogLevel.Warning, Message = "Renewing this gateway's copy of the moderation state failed; trying again")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);
}
