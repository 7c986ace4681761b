// A by-hand check of the Sqlite or Postgres store, not a test: durable saves/s with many concurrent callers,
// then the latency of common NIP-01 queries over what was saved.
//   dotnet run -c Release --project tests/Storage.Throughput -- [callers=64] [seconds=10] [path=/tmp/...] [warm-up runs=100]
//   dotnet run -c Release --project tests/Storage.Throughput -- 64 10 postgres[:<connection string>] [warm-up runs=100]
// Postgres uses a new schema, dropped at the end; without a connection string, RELAY_TEST_POSTGRES or the
// test command's server.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Postgres;
using NostrRelay.Storage.Sqlite;

var callers = args.Length > 0 ? int.Parse(args[0]) : 64;
var seconds = args.Length > 1 ? int.Parse(args[1]) : 10;
var target = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), $"relay-throughput-{Guid.NewGuid():N}", "relay.db");
string? postgres = null;
if (target == "postgres" || target.StartsWith("postgres:", StringComparison.Ordinal))
{
    postgres = target.Length > "postgres:".Length ? target["postgres:".Length..]
        : Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured
        : "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";
}
var schema = $"throughput_{Guid.NewGuid():N}";

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

IEventStore store = postgres is null
    ? new SqliteEventStore(new SqliteEventStoreOptions { Path = target })
    : new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = postgres, Schema = schema });
await store.InitAsync();
Console.WriteLine(postgres is null ? $"Sqlite at {target}" : $"Postgres schema {schema}");

// Each caller writes its own stream, as author grains do; a stream's head is tracked by its caller.
var stop = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(seconds);
var counts = await Task.WhenAll(queues.Select((events, c) => Task.Run(async () =>
{
    var stream = $"caller-{c}";
    var saved = 0;
    foreach (var evt in events)
    {
        if (stop.Elapsed >= deadline) break;
        var result = await store.SaveAsync(evt, stream, saved);
        if (result.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"unexpected {result.Outcome}");
        saved++;
    }
    return saved;
})));
var elapsed = stop.Elapsed;
var total = counts.Sum();
Console.WriteLine($"{callers} callers: {total:N0} durable saves in {elapsed.TotalSeconds:F1} s = {total / elapsed.TotalSeconds:N0} saves/s");

// Top up to 100k events (untimed) so the queries below run against a realistically sized file.
await Task.WhenAll(queues.Select((events, c) => Task.Run(async () =>
{
    var stream = $"caller-{c}";
    var head = await store.ReadStreamHeadAsync(stream);
    for (var i = (int)head; i < events.Length && i < 100_000 / callers + 1; i++) await store.SaveAsync(events[i], stream, i);
})));
var stored = await store.CountAsync(Filter.Everything);
if (postgres is null)
{
    Console.WriteLine($"stored: {stored:N0} events; file {new FileInfo(target).Length / 1_048_576.0:F0} MiB");
}
else
{
    // Queries are measured as a running server has the tables: autovacuum vacuums and analyzes after this many
    // inserts, within a minute. Doing it now keeps it from running beside the queries (this machine has 2 cores).
    await using var server = NpgsqlDataSource.Create(postgres);
    foreach (var table in new[] { "events", "tags", "streams" })
    {
        await using var vacuum = server.CreateCommand($"VACUUM (ANALYZE) \"{schema}\".{table}");
        await vacuum.ExecuteNonQueryAsync();
    }
    await using var size = server.CreateCommand($"SELECT pg_total_relation_size('\"{schema}\".events') + pg_total_relation_size('\"{schema}\".tags')");
    Console.WriteLine($"stored: {stored:N0} events; tables and indexes {(long)(await size.ExecuteScalarAsync())! / 1_048_576.0:F0} MiB");
}
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
// Untimed warm-up first: a relay asks the same shapes again and again, and Npgsql prepares a statement on each
// pooled connection only after it ran there a few times (the pool holds up to 20 after the top-up).
var warmUp = args.Length > 3 ? int.Parse(args[3]) : 100;
foreach (var filter in filters)
{
    for (var run = 0; run < warmUp; run++) await foreach (var _ in store.QueryAsync(filter)) { }
    var times = new List<double>();
    var n = 0;
    for (var run = 0; run < 21; run++)
    {
        var watch = Stopwatch.StartNew();
        n = 0;
        await foreach (var _ in store.QueryAsync(filter)) n++;
        times.Add(watch.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    Console.WriteLine($"{Describe(filter),-45} {n,4} events  median {times[10]:F2} ms  max {times[^1]:F2} ms");
}

await store.DisposeAsync();
if (postgres is null)
{
    Directory.Delete(Path.GetDirectoryName(target)!, recursive: true);
}
else
{
    await using var dropper = NpgsqlDataSource.Create(postgres);
    await using var drop = dropper.CreateCommand($"DROP SCHEMA \"{schema}\" CASCADE");
    await drop.ExecuteNonQueryAsync();
}

static string Describe(Filter f)
{
    var parts = new List<string>();
    if (f.Authors is { } a) parts.Add($"authors:{a.Length}");
    if (f.Kinds is { } k) parts.Add($"kinds:[{string.Join(",", k)}]");
    if (f.Tags is { } t) foreach (var c in t) parts.Add($"#{c.Name}:{c.Values.Length}");
    parts.Add($"limit:{f.Limit}");
    return "{" + string.Join(" ", parts) + "}";
}
