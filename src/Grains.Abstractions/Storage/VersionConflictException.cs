namespace NostrRelay.Storage;

/// <summary>Thrown where a caller cannot take <see cref="SaveOutcome.VersionConflict"/> as a value.</summary>
public sealed class VersionConflictException(string stream, long expectedVersion)
    : Exception($"stream {stream} is not at version {expectedVersion}")
{
    public string Stream { get; } = stream;
    public long ExpectedVersion { get; } = expectedVersion;
}
