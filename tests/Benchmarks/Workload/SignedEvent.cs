namespace NostrRelay.Benchmarks.Workload;

/// <summary>An event signed before timing, with its <c>["EVENT",..]</c> frame ready to send and its id's lookup key.</summary>
internal sealed record SignedEvent(string Id, string Pubkey, int Kind, byte[] Frame, ulong Key);
