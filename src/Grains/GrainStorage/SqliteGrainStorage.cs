using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace NostrRelay.GrainStorage;

/// <summary>
/// Orleans grain state (bookmarks, settings) in a table of the relay's Sqlite file, so the embedded relay
/// keeps everything in one file. State is JSON (readable with the sqlite3 shell, and a renamed type does not
/// orphan its rows); the ETag is a version number, so a stale write throws <see cref="InconsistentStateException"/>.
/// </summary>
internal sealed class SqliteGrainStorage : IGrainStorage, IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);
    private readonly string _connectionString;
    private readonly IGrainStorageSerializer? _serializer;
    private readonly SemaphoreSlim _schema = new(1, 1);
    private bool _created;

    /// <param name="serializer">
    /// Orleans' own (JSON, so the payload stays text) for state whose types System.Text.Json cannot round-trip, such as
    /// Orleans' stream pub-sub records; null for the relay's own state.
    /// </param>
    public SqliteGrainStorage(string path, IGrainStorageSerializer? serializer = null)
    {
        _serializer = serializer;
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, payload FROM grain_state WHERE grain_id = $id AND state_name = $name;";
        command.Parameters.AddWithValue("$id", grainId.ToString());
        command.Parameters.AddWithValue("$name", stateName);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }
        grainState.ETag = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
        var stored = reader.GetString(1);
        grainState.State = (_serializer is null ? JsonSerializer.Deserialize<T>(stored, Json) : _serializer.Deserialize<T>(BinaryData.FromString(stored)))
            ?? Activator.CreateInstance<T>();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = _serializer is null ? JsonSerializer.Serialize(grainState.State, Json) : _serializer.Serialize(grainState.State).ToString();
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        if (grainState.ETag is null)
        {
            command.CommandText = "INSERT INTO grain_state (grain_id, state_name, etag, payload) VALUES ($id, $name, 1, $payload) ON CONFLICT DO NOTHING;";
        }
        else
        {
            command.CommandText = "UPDATE grain_state SET etag = etag + 1, payload = $payload WHERE grain_id = $id AND state_name = $name AND etag = $etag;";
            command.Parameters.AddWithValue("$etag", long.Parse(grainState.ETag, CultureInfo.InvariantCulture));
        }
        command.Parameters.AddWithValue("$id", grainId.ToString());
        command.Parameters.AddWithValue("$name", stateName);
        command.Parameters.AddWithValue("$payload", payload);
        if (await command.ExecuteNonQueryAsync() == 0)
            throw new InconsistentStateException($"state {stateName} of {grainId} was written elsewhere", grainState.ETag ?? "", "");
        grainState.ETag = grainState.ETag is null ? "1" : (long.Parse(grainState.ETag, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM grain_state WHERE grain_id = $id AND state_name = $name;";
        command.Parameters.AddWithValue("$id", grainId.ToString());
        command.Parameters.AddWithValue("$name", stateName);
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using (var pragma = connection.CreateCommand())
        {
            // The event store's writer shares the file: wait for its lock rather than fail.
            pragma.CommandText = "PRAGMA busy_timeout = 5000;";
            await pragma.ExecuteNonQueryAsync();
        }
        if (!_created) await CreateTableAsync(connection);
        return connection;
    }

    private async Task CreateTableAsync(SqliteConnection connection)
    {
        await _schema.WaitAsync();
        try
        {
            if (_created) return;
            await using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS grain_state (
                    grain_id   TEXT NOT NULL,
                    state_name TEXT NOT NULL,
                    etag       INTEGER NOT NULL,
                    payload    TEXT NOT NULL,
                    PRIMARY KEY (grain_id, state_name)) WITHOUT ROWID;
                """;
            await command.ExecuteNonQueryAsync();
            _created = true;
        }
        finally
        {
            _schema.Release();
        }
    }

    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}
