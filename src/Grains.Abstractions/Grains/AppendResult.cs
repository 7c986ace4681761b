namespace NostrRelay.Grains;

/// <summary>The answer to one EVENT: the OK flag and message follow from it.</summary>
[GenerateSerializer, Immutable, Alias("relay.append-result")]
public sealed record AppendResult(
    [property: Id(0)] AppendStatus Status,
    [property: Id(1)] string Message,
    [property: Id(2)] long Version,
    [property: Id(3)] long Position)
{
    public bool Ok => Status != AppendStatus.Rejected;

    public static AppendResult Accepted(long version, long position) => new(AppendStatus.Accepted, "", version, position);
    public static AppendResult Duplicate(string reason) => new(AppendStatus.Duplicate, "duplicate: " + reason, 0, 0);
    public static AppendResult Rejected(string message) => new(AppendStatus.Rejected, message, 0, 0);
}
