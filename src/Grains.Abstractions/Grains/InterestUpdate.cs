namespace NostrRelay.Grains;

/// <summary>
/// A change of what a silo's live subscriptions can match, sent to every other silo in order. A silo's changes
/// are numbered: this one takes its receiver from <see cref="Base"/> to <see cref="Generation"/>. A whole
/// summary (<see cref="Base"/> −1) replaces whatever the receiver had, and is what a new peer gets first.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.interest-update")]
public sealed record InterestUpdate(
    [property: Id(0)] long Base,
    [property: Id(1)] long Generation,
    [property: Id(2)] InterestKey[] Added,
    [property: Id(3)] InterestKey[] Removed)
{
    public bool IsWhole => Base < 0;
}
