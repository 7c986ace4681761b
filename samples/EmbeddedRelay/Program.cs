// An ASP.NET Core app that embeds the relay with public API only: its own rule, and notes kept apart from the rest.
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Storage.Compositions;
using NostrRelay.Storage.Sqlite;

var builder = WebApplication.CreateBuilder(args);
var data = builder.Configuration["Data"] ?? "data";
builder.Services.AddEventStore(new ShardedEventStore(
    [([1], new SqliteEventStore(new() { Path = Path.Combine(data, "notes.db") })),
     (null, new SqliteEventStore(new() { Path = Path.Combine(data, "everything-else.db") }))],
    Path.Combine(data, "ledger.db")));
builder.UseOrleans(silo => silo.UseLocalhostClustering(builder.Configuration.GetValue("SiloPort", 11111),
    builder.Configuration.GetValue("GatewayPort", 30000)).AddRelayGrains());
builder.Services.AddNostrRelay(builder.Configuration.GetSection("Relay"), relay => relay.RejectEvent.Add((evt, _) =>
    evt.Content.Contains("buy now", StringComparison.OrdinalIgnoreCase) ? PolicyResult.Blocked("no ads here") : PolicyResult.Accept));
var app = builder.Build();
app.MapNostrRelay("/");
app.Run();
