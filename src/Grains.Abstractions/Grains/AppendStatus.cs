namespace NostrRelay.Grains;

public enum AppendStatus
{
    /// <summary>Committed (or, for ephemeral events, handed to fan-out): OK true.</summary>
    Accepted,
    /// <summary>Already stored: OK true with "duplicate:".</summary>
    Duplicate,
    /// <summary>Not stored: OK false with the reason.</summary>
    Rejected,
}
