using System.Globalization;
using System.Text.Json;
using Npgsql;
using Orleans.Storage;

namespace NostrRelay.GrainStorage;

/// <summary>
/// Orleans grain state in a table of the PostgreSQL schema the event store uses, so every silo of a cluster
/// reads and writes the same bookmarks and settings. Same contract as <see cref="SqliteGrainStorage"/>: JSON
/// state, a version number as ETag, a stale write throws <see cref="InconsistentStateException"/>.
/// </summary>
internal sealed class PostgresGrainStorage : IGrainStorage, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _table;
    private readonly SemaphoreSlim _schema = new(1, 1);
    private volatile bool _created;
    private readonly string _schemaName;

    public PostgresGrainStorage(string connectionString, string schema)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = Math.Min(builder.ConnectionStringBuilder.MaxPoolSize, 5);   // state is written seldom
        _dataSource = builder.Build();
        _schemaName = schema;
        _table = $"\"{schema.Replace("\"", "\"\"")}\".grain_state";
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await EnsureTableAsync();
        await using var command = _dataSource.CreateCommand($"SELECT etag, payload FROM {_table} WHERE grain_id = $1 AND state_name = $2");
        command.Parameters.AddWithValue(grainId.ToString());
        command.Parameters.AddWithValue(stateName);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }
        grainState.ETag = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
        grainState.State = JsonSerializer.Deserialize<T>(reader.GetString(1), Json) ?? Activator.CreateInstance<T>();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await EnsureTableAsync();
        var payload = JsonSerializer.Serialize(grainState.State, Json);
        await using var command = grainState.ETag is null
            ? _dataSource.CreateCommand($"INSERT INTO {_table} (grain_id, state_name, etag, payload) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING")
            : _dataSource.CreateCommand($"UPDATE {_table} SET etag = etag + 1, payload = $3 WHERE grain_id = $1 AND state_name = $2 AND etag = $4");
        command.Parameters.AddWithValue(grainId.ToString());
        command.Parameters.AddWithValue(stateName);
        command.Parameters.AddWithValue(payload);
        if (grainState.ETag is not null) command.Parameters.AddWithValue(long.Parse(grainState.ETag, CultureInfo.InvariantCulture));
        if (await command.ExecuteNonQueryAsync() == 0)
            throw new InconsistentStateException($"state {stateName} of {grainId} was written elsewhere", grainState.ETag ?? "", "");
        grainState.ETag = grainState.ETag is null ? "1" : (long.Parse(grainState.ETag, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await EnsureTableAsync();
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_table} WHERE grain_id = $1 AND state_name = $2");
        command.Parameters.AddWithValue(grainId.ToString());
        command.Parameters.AddWithValue(stateName);
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private async Task EnsureTableAsync()
    {
        if (_created) return;
        await _schema.WaitAsync();
        try
        {
            if (_created) return;
            var schema = $"\"{_schemaName.Replace("\"", "\"\"")}\"";
            await using var connection = await _dataSource.OpenConnectionAsync();
            // Several silos may start at once, and CREATE ... IF NOT EXISTS can still race on the catalog: one at a time.
            await ExecuteAsync(connection, "SELECT pg_advisory_lock(hashtext('nostr-relay grain_state ' || $1))", _schemaName);
            try
            {
                await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS {schema}");
                await ExecuteAsync(connection, $"""
                    CREATE TABLE IF NOT EXISTS {_table} (
                        grain_id   text   NOT NULL,
                        state_name text   NOT NULL,
                        etag       bigint NOT NULL,
                        payload    text   NOT NULL,
                        PRIMARY KEY (grain_id, state_name))
                    """);
            }
            finally
            {
                await ExecuteAsync(connection, "SELECT pg_advisory_unlock(hashtext('nostr-relay grain_state ' || $1))", _schemaName);
            }
            _created = true;
        }
        finally
        {
            _schema.Release();
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, string? parameter = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (parameter is not null) command.Parameters.AddWithValue(parameter);
        await command.ExecuteNonQueryAsync();
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
