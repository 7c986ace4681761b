namespace NostrRelay.Storage;

/// <summary>What a save did. Version and Position are set only for <see cref="SaveOutcome.Saved"/>.</summary>
public readonly record struct SaveResult(SaveOutcome Outcome, long Version = 0, long Position = 0)
{
    public static SaveResult Duplicate => new(SaveOutcome.Duplicate);
    public static SaveResult VersionConflict => new(SaveOutcome.VersionConflict);
    public static SaveResult Superseded => new(SaveOutcome.Superseded);
    public static SaveResult Deleted => new(SaveOutcome.Deleted);
}
