using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// The store's read-only connections, kept open between reads, each with the statements it ran kept prepared.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite's own pool keeps a connection's file handle but finalizes its statements when it is put back,
/// so every read paid SQLite's parse and plan again (about 14 µs for a REQ's statement here) and the reader pragma's
/// too. A kept statement is reset after each read, so it holds no snapshot of the WAL between reads.
/// </remarks>
internal sealed class SqliteReaders : IDisposable
{
    /// <summary>Connections kept idle at most; more are opened while reads overlap, and closed when given back.</summary>
    private const int MaxIdle = 16;

    private readonly string _connectionString;
    private readonly Stack<SqliteReader> _idle = new();
    private readonly Lock _gate = new();
    private bool _disposed;

    public SqliteReaders(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString();
    }

    /// <summary>An idle connection, or a new one; give it back by disposing it.</summary>
    public SqliteReader Rent()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idle.TryPop(out var idle)) return idle.Rented();
        }
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = SqliteSchema.ReaderPragmas;
            pragma.ExecuteNonQuery();
            return new SqliteReader(this, connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    internal void Return(SqliteReader reader)
    {
        lock (_gate)
        {
            if (!_disposed && _idle.Count < MaxIdle)
            {
                _idle.Push(reader);
                return;
            }
        }
        reader.Close();
    }

    public void Dispose()
    {
        SqliteReader[] idle;
        lock (_gate)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var reader in idle) reader.Close();
    }
}
