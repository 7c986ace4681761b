namespace NostrRelay.Consumers;

/// <summary>A registered consumer, so the silo can start it.</summary>
internal sealed record EventConsumerName(string Name);
