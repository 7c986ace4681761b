namespace NostrRelay.Grains;

/// <summary>What one key of a silo's interest names: every event, an event id, an author, a tag value or a kind.</summary>
public enum InterestKind : byte { Everything, Id, Author, Tag, Kind }

/// <summary>
/// One value a silo's live subscriptions can match on: an event with this id, by this author, with this
/// single-letter tag value or of this kind may be wanted there. <see cref="InterestKind.Everything"/> stands for
/// a filter with none of those conditions, which may match any event.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.interest-key")]
public readonly record struct InterestKey(
    [property: Id(0)] InterestKind Kind,
    [property: Id(1)] string Value,
    [property: Id(2)] char Tag = '\0',
    [property: Id(3)] int Number = 0)
{
    public static InterestKey Everything { get; } = new(InterestKind.Everything, "");
    public static InterestKey ForId(string id) => new(InterestKind.Id, id);
    public static InterestKey ForAuthor(string pubkey) => new(InterestKind.Author, pubkey);
    public static InterestKey ForTag(char name, string value) => new(InterestKind.Tag, value, name);
    public static InterestKey ForKind(int kind) => new(InterestKind.Kind, "", Number: kind);
}
