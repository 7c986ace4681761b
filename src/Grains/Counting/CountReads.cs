using NostrRelay.Subscriptions;

namespace NostrRelay.Counting;

/// <summary>
/// Where COUNTs run: threads of their own at low priority, half the cores, shared by the whole silo. A count may read
/// a store synchronously for seconds (SQLite does); on the catch-up threads two of them would hold up every REQ's
/// stored events, and with no bound many connections' counts would take every core. Here they wait their turn.
/// </summary>
internal sealed class CountReads() : CatchUpReads(Environment.ProcessorCount / 2, "count reads");
