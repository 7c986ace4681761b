// Store benchmarks (not tests): how each event store saves and answers as it grows.
//   dotnet run -c Release --project tests/Storage.Benchmarks -- [stores=sqlite,mirrored] [sizes=10000,100000,1000000] [callers=64]
// For each store: grow a fresh store to each size with many concurrent writers (one stream each, as
// author grains write), timing the durable saves of that stage; at each size, time 1,000 queries of each
// NIP-01 shape one after another. At the last size, time NIP-09 deletion requests (each naming one stored
// event of its author) and the NIP-40 purge of 10,000 expired events, as ExpiryPurgeGrain runs it. At each size,
// time NIP-45 COUNTs of the reactions to one popular event (10,000) and of one pubkey's followers (5,000), by the
// index alone and with the HyperLogLog (EventCounter, as the count grain runs it).
// Prints markdown rows for docs/benchmarks.md.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using NostrRelay.Counting;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage;

var stores = (args.Length > 0 ? args[0] : "sqlite,mirrored").Split(',', StringSplitOptions.RemoveEmptyEntries);
var sizes = (args.Length > 1 ? args[1] : "10000,100000,1000000").Split(',').Select(int.Parse).ToArray();
var callers = args.Length > 2 ? int.Parse(args[2]) : 64;
const int queriesPerShape = 1_000;
const int authorCount = 1_000;

var authors = Enumerable.Range(0, authorCount).Select(i => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"author {i}")))).ToArray();
var sig = string.Concat(Enumerable.Repeat("5a", 64));
var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

Console.WriteLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {callers} concurrent writers, {queriesPerShape:N0} queries per shape and size.");
Console.WriteLine();
Console.WriteLine("| store | events | saves/s (stage) | {kinds:[1],limit:20} p50 / p99 | {authors:[a],limit:20} p50 / p99 | {#p:[x],limit:20} p50 / p99 |");
Console.WriteLine("|---|---|---|---|---|---|");

var lifecycle = new List<string>();
var searches = new List<string>();
var manyValues = new List<string>();
var profiles = new List<string>();
var notifications = new List<string>();
var counts = new List<string>();
const int reactions = 10_000;
const int followers = 5_000;
var popular = Convert.ToHexStringLower(SHA256.HashData("a popular note"u8));
var followed = authors[0];
var prolific = Convert.ToHexStringLower(SHA256.HashData("a prolific author"u8));
foreach (var name in stores)
{
    var directory = Path.Combine(Path.GetTempPath(), $"relay-store-bench-{Guid.NewGuid():N}");
    var store = EventStoreFactory.Create(Section(name, directory), directory);
    await store.InitAsync();
    var heads = new long[callers];
    var written = 0;
    var random = new Random(7);
    try
    {
        await SeedCountTargetsAsync(store);
        await SeedProfilesAsync(store);
        await SeedProlificAsync(store);
        foreach (var size in sizes)
        {
            var stage = size - written;
            var events = MakeEvents(written, stage);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
            {
                for (var i = c; i < events.Length; i += callers)
                {
                    var result = await store.SaveAsync(events[i], $"writer-{c}", heads[c]);
                    if (result.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"{name}: {result.Outcome}");
                    heads[c] = result.Version;
                }
            })));
            var savesPerSecond = stage / clock.Elapsed.TotalSeconds;
            written = size;

            var kinds = await TimeAsync(store, _ => new Filter { Kinds = [1], Limit = 20 }, random);
            var byAuthor = await TimeAsync(store, r => new Filter { Authors = [authors[r.Next(authorCount)]], Limit = 20 }, random);
            var byTag = await TimeAsync(store, r => new Filter { Tags = [new TagFilter('p', [authors[r.Next(authorCount)]])], Limit = 20 }, random);
            Console.WriteLine($"| {name} | {size:N0} | {savesPerSecond:N0} | {kinds} | {byAuthor} | {byTag} |");
            // A tag condition of many values: a follow list's mentions, reactions to a page of notes.
            var fiftyTags = await TimeAsync(store, r => new Filter { Tags = [new TagFilter('p', [.. Enumerable.Range(0, 50).Select(_ => authors[r.Next(authorCount)])])], Limit = 20 }, random);
            var fiftyTagsOfKind = await TimeAsync(store, r => new Filter { Kinds = [7], Tags = [new TagFilter('p', [.. Enumerable.Range(0, 50).Select(_ => authors[r.Next(authorCount)])])], Limit = 20 }, random);
            manyValues.Add($"| {name} | {size:N0} | {fiftyTags} | {fiftyTagsOfKind} |");
            // What a client asks for the people it follows: their profiles, and their profiles with relay and follow lists.
            var fiftyProfiles = await TimeAsync(store, r => new Filter { Authors = Follows(r), Kinds = [0] }, random);
            var fiftyProfilesAndLists = await TimeAsync(store, r => new Filter { Authors = Follows(r), Kinds = [0, 3, 10_002], Limit = 150 }, random);
            profiles.Add($"| {name} | {size:N0} | {fiftyProfiles} | {fiftyProfilesAndLists} |");
            // A popular pubkey's notifications: its replies among 10,000 reactions to it, and what it is sent among 5,000
            // follow lists that name it (kinds its tag rows mostly do not have).
            var replies = await TimeAsync(store, _ => new Filter { Kinds = [1], Tags = [new TagFilter('p', [authors[1]])], Limit = 20 }, random);
            var mentions = await TimeAsync(store, _ => new Filter { Kinds = [1, 6, 7, 9_735], Tags = [new TagFilter('p', [followed])], Limit = 20 }, random);
            // A prolific author's few articles (kind 30023) among their 20,000 notes.
            var articles = await TimeAsync(store, _ => new Filter { Authors = [prolific], Kinds = [30_023], Limit = 20 }, random);
            notifications.Add($"| {name} | {size:N0} | {replies} | {mentions} | {articles} |");
            counts.Add(await CountsAsync(name, store, size + reactions + followers));
            if (store.CanSearch)
            {
                var oneWord = await TimeAsync(store, r => new Filter { Search = $"w{r.Next(10, 100)}", Limit = 20 }, random);
                var twoWords = await TimeAsync(store, r => new Filter { Search = $"w1 w{r.Next(2, 20)}", Limit = 20 }, random);
                searches.Add($"| {name} | {size + reactions + followers:N0} | {oneWord} | {twoWords} |");
            }
        }
        lifecycle.Add(await DeletionAndPurgeAsync(name, store, written));
    }
    finally
    {
        await store.DisposeAsync();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}

Console.WriteLine();
Console.WriteLine("| store | events | {search:\"w<10..99>\",limit:20} p50 / p99 | {search:\"w1 w<2..19>\",limit:20} p50 / p99 |");
Console.WriteLine("|---|---|---|---|");
foreach (var row in searches) Console.WriteLine(row);
Console.WriteLine();
Console.WriteLine("| store | events | {#p:[50 values],limit:20} p50 / p99 | {kinds:[7],#p:[50 values],limit:20} p50 / p99 |");
Console.WriteLine("|---|---|---|---|");
foreach (var row in manyValues) Console.WriteLine(row);

Console.WriteLine();
Console.WriteLine("| store | events (and 1,000 profiles) | {authors:[50],kinds:[0]} p50 / p99 | {authors:[50],kinds:[0,3,10002],limit:150} p50 / p99 |");
Console.WriteLine("|---|---|---|---|");
foreach (var row in profiles) Console.WriteLine(row);

Console.WriteLine();
Console.WriteLine("| store | events (and 20,005 of one author) | {kinds:[1],#p:[x],limit:20}, x in 10,000 reactions p50 / p99 | {kinds:[1,6,7,9735],#p:[y],limit:20}, y in 5,000 follow lists p50 / p99 | {authors:[z],kinds:[30023],limit:20}, z with 20,000 notes p50 / p99 |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var row in notifications) Console.WriteLine(row);

Console.WriteLine();
Console.WriteLine($"| store | events | reactions ({reactions:N0}) count p50 / p99 | with hll p50 / p99 | followers ({followers:N0}) count p50 / p99 | with hll p50 / p99 |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (var row in counts) Console.WriteLine(row);

Console.WriteLine();
Console.WriteLine("| store | events | deletion requests/s (64 at once) | one request alone p50 / p99 | expired events purged/s |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var row in lifecycle) Console.WriteLine(row);

// NIP-09 then NIP-40 at the store's final size: requests each naming one stored kind-1 event of its author, then
// 10,000 already-expired events deleted through ReadExpiredAsync and DeleteAsync, 500 at a time.
async Task<string> DeletionAndPurgeAsync(string name, IEventStore store, int size)
{
    var targets = new List<NostrEvent>();
    await foreach (var evt in store.QueryAsync(new Filter { Kinds = [1], Limit = 3_000 })) targets.Add(evt);
    var requests = targets.Select((target, i) =>
    {
        string[][] tags = [["e", target.Id], ["k", "1"]];
        var id = CanonicalJson.ComputeIdHex(target.Pubkey, now + i, 5, tags, "");
        return CanonicalJson.CreateEvent(id, target.Pubkey, now + i, 5, tags, "", sig);
    }).ToArray();
    var heads = new long[callers];
    var alone = new double[1_000];
    for (var i = 0; i < alone.Length; i++)
    {
        var clock = Stopwatch.StartNew();
        var result = await store.SaveAsync(requests[i], "deleter-alone", heads[0]);
        alone[i] = clock.Elapsed.TotalMilliseconds;
        if (result.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"{name}: deletion {result.Outcome}");
        heads[0] = result.Version;
    }
    Array.Sort(alone);
    var rest = requests[alone.Length..];
    var together = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        long head = 0;
        for (var i = c; i < rest.Length; i += callers)
            head = (await store.SaveAsync(rest[i], $"deleter-{c}", head)).Version;
    })));
    var requestsPerSecond = rest.Length / together.Elapsed.TotalSeconds;
    if (await store.CountAsync(new Filter { Ids = [.. targets.Select(t => t.Id)] }) != 0) throw new InvalidOperationException($"{name}: targets left");

    var expiring = Enumerable.Range(0, 10_000).Select(i =>
    {
        string[][] tags = [["expiration", (now - 60).ToString()]];
        var author = authors[i % authorCount];
        var id = CanonicalJson.ComputeIdHex(author, now - 120, 1, tags, $"expired {i}");
        return CanonicalJson.CreateEvent(id, author, now - 120, 1, tags, $"expired {i}", sig);
    }).ToArray();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        long head = 0;
        for (var i = c; i < expiring.Length; i += callers)
            head = (await store.SaveAsync(expiring[i], $"expiring-{c}", head)).Version;
    })));
    var purge = Stopwatch.StartNew();
    var purged = 0;
    while (true)
    {
        var deletes = new List<Task<bool>>();
        await foreach (var id in store.ReadExpiredAsync(now, 500)) deletes.Add(store.DeleteAsync(id));
        if (deletes.Count == 0) break;
        foreach (var deleted in await Task.WhenAll(deletes)) if (deleted) purged++;
    }
    var purgedPerSecond = purged / purge.Elapsed.TotalSeconds;
    if (purged != expiring.Length) throw new InvalidOperationException($"{name}: purged {purged}");
    return $"| {name} | {size:N0} | {requestsPerSecond:N0} | {alone[alone.Length / 2]:0.00} / {alone[alone.Length * 99 / 100]:0.00} ms | {purgedPerSecond:N0} |";
}

// Reactions (kind 7) to one event and follow lists (kind 3) naming one pubkey, each from a pubkey of its own.
async Task SeedCountTargetsAsync(IEventStore store)
{
    var seeded = new List<NostrEvent>();
    for (var i = 0; i < reactions + followers; i++)
    {
        var pubkey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"reader {i}")));
        var reaction = i < reactions;
        string[][] tags = reaction ? [["e", popular], ["p", authors[1]]] : [["p", followed], ["p", authors[2]]];
        var kind = reaction ? 7 : 3;
        var createdAt = now - 30 * 86_400 + (long)i * 30 * 86_400 / (reactions + followers);   // spread like the rest, not all newest
        seeded.Add(CanonicalJson.CreateEvent(CanonicalJson.ComputeIdHex(pubkey, createdAt, kind, tags, "+"), pubkey, createdAt, kind, tags, "+", sig));
    }
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        for (var i = c; i < seeded.Count; i += callers)
            if ((await store.SaveAsync(seeded[i], seeded[i].Pubkey, 0)).Outcome != SaveOutcome.Saved) throw new InvalidOperationException("seed");
    })));
}

async Task<string> CountsAsync(string name, IEventStore store, int size)
{
    var counter = new EventCounter(store);
    var reacted = new Filter { Kinds = [7], Tags = [new TagFilter('e', [popular])] };
    var follows = new Filter { Kinds = [3], Tags = [new TagFilter('p', [followed])] };
    async Task<string> TimeCountAsync(Func<Task<long>> count, long expected)
    {
        for (var i = 0; i < 10; i++) await count();
        var times = new double[100];
        for (var i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            var n = await count();
            times[i] = clock.Elapsed.TotalMilliseconds;
            if (n != expected) throw new InvalidOperationException($"{name}: counted {n}, expected {expected}");
        }
        Array.Sort(times);
        return $"{times[times.Length / 2]:0.00} / {times[times.Length * 99 / 100]:0.00} ms";
    }
    var plainReactions = await TimeCountAsync(() => store.CountAsync(reacted), reactions);
    var hllReactions = await TimeCountAsync(async () => (await counter.CountAsync(new CountRequest([reacted], HllOffset: CountRequest.HllOffsetFor([reacted])), CancellationToken.None)).Count, reactions);
    var plainFollowers = await TimeCountAsync(() => store.CountAsync(follows), followers);
    var hllFollowers = await TimeCountAsync(async () => (await counter.CountAsync(new CountRequest([follows], HllOffset: CountRequest.HllOffsetFor([follows])), CancellationToken.None)).Count, followers);
    return $"| {name} | {size:N0} | {plainReactions} | {hllReactions} | {plainFollowers} | {hllFollowers} |";
}

string[] Follows(Random random) => [.. Enumerable.Range(0, 50).Select(_ => authors[random.Next(authorCount)])];

// One profile (kind 0) per author, set before their notes, each on the author's own stream as the author grain saves it.
async Task SeedProfilesAsync(IEventStore store)
{
    var saves = authors.Select(async (author, i) =>
    {
        var createdAt = now - 60 * 86_400 + i;
        var content = $$"""{"name":"author {{i}}"}""";
        var profile = CanonicalJson.CreateEvent(CanonicalJson.ComputeIdHex(author, createdAt, 0, [], content), author, createdAt, 0, [], content, sig);
        if ((await store.ReplaceAsync(profile, $"profile-{i}", 0)).Outcome != SaveOutcome.Saved) throw new InvalidOperationException("profile");
    });
    await Task.WhenAll(saves);
}

// 20,000 notes of one author over the last 30 days, and five articles (kind 30023, a d tag each) among them.
async Task SeedProlificAsync(IEventStore store)
{
    var written = Enumerable.Range(0, 20_005).Select(i =>
    {
        var article = i >= 20_000;
        var createdAt = article ? now - (i - 20_000) * 5 * 86_400 - 3_600 : now - 30 * 86_400 + (long)i * 30 * 86_400 / 20_000;
        string[][] tags = article ? [["d", $"article {i}"]] : [];
        var kind = article ? 30_023 : 1;
        var content = article ? $"article {i}" : $"note {i}";
        return CanonicalJson.CreateEvent(CanonicalJson.ComputeIdHex(prolific, createdAt, kind, tags, content), prolific, createdAt, kind, tags, content, sig);
    }).ToArray();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        long head = 0;
        for (var i = c; i < written.Length; i += callers)
        {
            var evt = written[i];
            var result = evt.Kind == 30_023 ? await store.ReplaceAsync(evt, $"prolific-{c}", head) : await store.SaveAsync(evt, $"prolific-{c}", head);
            if (result.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"prolific: {result.Outcome}");
            head = result.Version;
        }
    })));
}

static string Word(int n, int salt)
{
    var draw = (int)(unchecked((uint)n * 2654435761u ^ (uint)salt * 40503u * 2246822519u) % 1_000_000);
    return "w" + (int)(1_000_000.0 / (draw + 1_000));   // w1000 (rare) .. w1 (about one word in three)... skewed
}

// Events spread over the last 30 days, mostly kind 1, each with a p tag from the author pool.
NostrEvent[] MakeEvents(int start, int count)
{
    var random = new Random(start);
    var events = new NostrEvent[count];
    Parallel.For(0, count, i =>
    {
        var n = start + i;
        var author = authors[n % authorCount];
        var kind = (n % 10) switch { < 8 => 1, 8 => 7, _ => 6 };
        string[][] tags = [["p", authors[(int)((long)n * 7919 % authorCount)]], ["t", $"topic{n % 50}"]];
        // Three words from a vocabulary of 1,000, the first few far more common (about Zipf's law), for NIP-50 search.
        var content = $"note {n} {Word(n, 1)} {Word(n, 2)} {Word(n, 3)} " + new string('x', 100 + n % 200);
        var createdAt = now - 30 * 86_400 + n % (30 * 86_400);
        var id = CanonicalJson.ComputeIdHex(author, createdAt, kind, tags, content);
        events[i] = CanonicalJson.CreateEvent(id, author, createdAt, kind, tags, content, sig);
    });
    return events;
}

static async Task<string> TimeAsync(IEventStore store, Func<Random, Filter> shape, Random random)
{
    for (var i = 0; i < 100; i++)   // untimed: the JIT and the page cache first
        await foreach (var _ in store.QueryAsync(shape(random))) { }
    var times = new double[queriesPerShape];
    for (var i = 0; i < times.Length; i++)
    {
        var filter = shape(random);
        var clock = Stopwatch.StartNew();
        var n = 0;
        await foreach (var _ in store.QueryAsync(filter)) n++;
        times[i] = clock.Elapsed.TotalMilliseconds;
    }
    Array.Sort(times);
    return $"{times[times.Length / 2]:0.00} / {times[times.Length * 99 / 100]:0.00} ms";
}

static IConfigurationSection Section(string name, string directory)
{
    var settings = new Dictionary<string, string?>();
    switch (name)
    {
        case "mirrored":
            settings["S:Type"] = "Mirrored";
            settings["S:Primary:Type"] = "Sqlite";
            settings["S:Primary:Path"] = Path.Combine(directory, "primary.db");
            settings["S:Mirrors:0:Type"] = "Sqlite";
            settings["S:Mirrors:0:Path"] = Path.Combine(directory, "mirror.db");
            break;
        case "sharded":
            // Kind 1 (80 % of the events) in one Sqlite file, everything else in another, the log in a ledger.
            settings["S:Type"] = "Sharded";
            settings["S:Ledger"] = Path.Combine(directory, "ledger.db");
            settings["S:Shards:0:Kinds:0"] = "1";
            settings["S:Shards:0:Store:Type"] = "Sqlite";
            settings["S:Shards:0:Store:Path"] = Path.Combine(directory, "notes.db");
            settings["S:Shards:1:Store:Type"] = "Sqlite";
            settings["S:Shards:1:Store:Path"] = Path.Combine(directory, "rest.db");
            break;
        case "sharded-postgres":
        {
            // As a cluster shards: kind 1 in one Postgres schema, everything else in another, the ledger in a third.
            var connection = Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";
            var id = Guid.NewGuid().ToString("N")[..8];
            settings["S:Type"] = "Sharded";
            settings["S:Ledger:Type"] = "Postgres";
            settings["S:Ledger:ConnectionString"] = connection;
            settings["S:Ledger:Schema"] = $"bench_{id}_ledger";
            settings["S:Shards:0:Kinds:0"] = "1";
            settings["S:Shards:0:Store:Type"] = "Postgres";
            settings["S:Shards:0:Store:ConnectionString"] = connection;
            settings["S:Shards:0:Store:Schema"] = $"bench_{id}_notes";
            settings["S:Shards:1:Store:Type"] = "Postgres";
            settings["S:Shards:1:Store:ConnectionString"] = connection;
            settings["S:Shards:1:Store:Schema"] = $"bench_{id}_rest";
            break;
        }
        case "postgres":
            settings["S:Type"] = "Postgres";
            settings["S:ConnectionString"] = Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES")
                ?? "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";
            settings["S:Schema"] = "bench_" + Guid.NewGuid().ToString("N")[..8];
            break;
        case "mysql":
            settings["S:Type"] = "MySql";
            settings["S:ConnectionString"] = Environment.GetEnvironmentVariable("RELAY_TEST_MYSQL") ?? "Server=127.0.0.1;Port=3306;User ID=relay;Password=relay";
            settings["S:Database"] = "bench_" + Guid.NewGuid().ToString("N")[..8];
            break;
        default:
            settings["S:Type"] = name;
            settings["S:Path"] = Path.Combine(directory, name == "lmdb" ? "lmdb" : "relay.db");
            break;
    }
    return new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("S");
}
