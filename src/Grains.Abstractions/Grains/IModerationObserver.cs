namespace NostrRelay.Grains;

/// <summary>A gateway, told of every moderation change as it is made.</summary>
public interface IModerationObserver : IGrainObserver
{
    [Orleans.Concurrency.OneWay]
    Task ChangedAsync(ModerationState state);
}
