// A by-hand check of the embedded stores, not a test: durable saves/s with many concurrent callers, then the
// latency of common NIP-01 queries over what was saved. Each store named runs in turn on the same events.
//   dotnet run -c Release --project tests/Storage.Throughput -- [callers=64] [seconds=10] [directory=/tmp/...] [stores=sqlite,rocksdb]
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.RocksDb;
using NostrRelay.Storage.Sqlite;

var callers = args.Length > 0 ? int.Parse(args[0]) : 64;
var seconds = args.Length > 1 ? int.Parse(args[1]) : 10;
var directory = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), $"relay-throughput-{Guid.NewGuid():N}");
var stores = (args.Length > 3 ? args[3] : "sqlite,rocksdb").Split(',');
// Every store ends up with the same events, so the queries compare like with like.
const int storedEvents = 100_000;
var perStream = storedEvents / callers + 1;

// Events are made before the clock starts: hashing ids is the gateway's work, not the store's.
const int authorCount = 2_000;
var authors = Enumerable.Range(0, authorCount).Select(i => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"author {i}")))).ToArray();
var sig = string.Concat(Enumerable.Repeat("5a", 64));
var random = new Random(42);
var perCaller = Math.Max(30_000 * seconds, 120_000) / callers + 100;
var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
Console.WriteLine($"making {perCaller * callers:N0} events...");
var queues = Enumerable.Range(0, callers).Select(c =>
{
    var events = new NostrEvent[perCaller];
    for (var i = 0; i < perCaller; i++)
    {
        var author = authors[(c + i * callers) % authorCount];
        var kind = random.Next(10) switch { < 7 => 1, < 9 => 7, _ => 6 };
        string[][] tags =
        [
            ["p", authors[random.Next(authorCount)]],
            ["e", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))],
            ["t", $"topic{random.Next(50)}"],
        ];
        var content = new string('x', 120 + random.Next(200));
        var createdAt = now - 30 * 86_400 + (long)i * 30 * 86_400 / perCaller;   // the last 30 days
        var id = CanonicalJson.ComputeIdHex(author, createdAt, kind, tags, content);
        events[i] = CanonicalJson.CreateEvent(id, author, createdAt, kind, tags, content, sig);
    }
    return events;
}).ToArray();

foreach (var storeName in stores)
{
    var path = Path.Combine(directory, storeName == "rocksdb" ? "relay.rocksdb" : "relay.db");
    IEventStore store = storeName switch
    {
        "sqlite" => new SqliteEventStore(new SqliteEventStoreOptions { Path = path }),
        "rocksdb" => new RocksDbEventStore(new RocksDbEventStoreOptions { Path = path }),
        _ => throw new ArgumentException($"unknown store '{storeName}'; use sqlite or rocksdb"),
    };
    Console.WriteLine($"--- {storeName}");
    await store.InitAsync();

    // Each caller writes its own stream, as author grains do; a stream's head is tracked by its caller.
    var stop = Stopwatch.StartNew();
    var deadline = TimeSpan.FromSeconds(seconds);
    var counts = await Task.WhenAll(queues.Select((events, c) => Task.Run(async () =>
    {
        var stream = $"caller-{c}";
        var saved = 0;
        foreach (var evt in events)
        {
            if (stop.Elapsed >= deadline || saved == perStream) break;
            var result = await store.SaveAsync(evt, stream, saved);
            if (result.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"unexpected {result.Outcome}");
            saved++;
        }
        return saved;
    })));
    var elapsed = stop.Elapsed;
    var total = counts.Sum();
    Console.WriteLine($"{callers} callers: {total:N0} durable saves in {elapsed.TotalSeconds:F1} s = {total / elapsed.TotalSeconds:N0} saves/s");

    // Top up to 100k events (untimed) so the queries below run against a realistically sized store.
    await Task.WhenAll(queues.Select((events, c) => Task.Run(async () =>
    {
        var stream = $"caller-{c}";
        var head = await store.ReadStreamHeadAsync(stream);
        for (var i = (int)head; i < events.Length && i < perStream; i++) await store.SaveAsync(events[i], stream, i);
    })));
    var stored = await store.CountAsync(Filter.Everything);
    Console.WriteLine($"stored: {stored:N0} events; {SizeOnDisk(path) / 1_048_576.0:F0} MiB on disk");
    var popular = authors[0];
    Filter[] filters =
    [
        new() { Kinds = [1], Limit = 20 },
        new() { Authors = [popular], Limit = 20 },
        new() { Tags = [new TagFilter('p', [popular])], Limit = 20 },
        new() { Tags = [new TagFilter('t', ["topic7"])], Limit = 20 },
        new() { Kinds = [1, 7], Limit = 20 },
        new() { Authors = authors[..500], Limit = 50 },
        new() { Kinds = [1], Tags = [new TagFilter('p', [popular])], Limit = 20 },
        new() { Tags = [new TagFilter('p', authors[..10])], Limit = 20 },
        new() { Limit = 500 },
    ];
    foreach (var filter in filters)
    {
        // Untimed runs first, so the JIT has tiered up and the caches hold what the query reads, as on a running relay.
        const int warmUp = 100, timed = 101;
        var times = new List<double>();
        var n = 0;
        for (var run = 0; run < warmUp + timed; run++)
        {
            var watch = Stopwatch.StartNew();
            n = 0;
            await foreach (var _ in store.QueryAsync(filter)) n++;
            if (run >= warmUp) times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine($"{Describe(filter),-45} {n,4} events  median {times[timed / 2]:F2} ms  p99 {times[timed * 99 / 100]:F2} ms");
    }
    await store.DisposeAsync();
}
Directory.Delete(directory, recursive: true);

static long SizeOnDisk(string path) => File.Exists(path)
    ? new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0)
    : new DirectoryInfo(path).EnumerateFiles().Sum(f => f.Length);

static string Describe(Filter f)
{
    var parts = new List<string>();
    if (f.Authors is { } a) parts.Add($"authors:{a.Length}");
    if (f.Kinds is { } k) parts.Add($"kinds:[{string.Join(",", k)}]");
    if (f.Tags is { } t) foreach (var c in t) parts.Add($"#{c.Name}:{c.Values.Length}");
    parts.Add($"limit:{f.Limit}");
    return "{" + string.Join(" ", parts) + "}";
}
