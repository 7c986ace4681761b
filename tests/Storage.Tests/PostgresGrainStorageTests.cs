using Npgsql;
using NostrRelay.GrainStorage;
using Orleans.Storage;

namespace NostrRelay.Storage.Tests;

/// <summary>Grain state in the real PostgreSQL the test command starts, in a schema of its own per test class instance.</summary>
public sealed class PostgresGrainStorageTests : GrainStorageConformance, IAsyncLifetime
{
    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured
            : "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";

    private readonly string _schema = "g_" + Guid.NewGuid().ToString("N");
    private readonly List<PostgresGrainStorage> _opened = [];

    protected override IGrainStorage Open()
    {
        var storage = new PostgresGrainStorage(ConnectionString, _schema);
        _opened.Add(storage);
        return storage;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var storage in _opened) await storage.DisposeAsync();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
