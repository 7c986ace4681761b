using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>One read-only connection of <see cref="SqliteReaders"/>, used by one read at a time; disposing gives it back.</summary>
internal sealed class SqliteReader : IAsyncDisposable
{
    /// <summary>Statements kept per connection at most; past it they are all dropped and prepared again as used.</summary>
    private const int MaxStatements = 64;

    private readonly SqliteReaders _owner;
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

    internal SqliteReader(SqliteReaders owner, SqliteConnection connection)
    {
        _owner = owner;
        _connection = connection;
    }

    /// <summary>
    /// A command for <paramref name="sql"/>, prepared on first use and reused after; its parameters are cleared. The
    /// command belongs to this reader: use it before giving the reader back, and do not dispose it.
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (_statements.TryGetValue(sql, out var command))
        {
            command.Parameters.Clear();
            return command;
        }
        if (_statements.Count >= MaxStatements) DropStatements();
        command = _connection.CreateCommand();
        command.CommandText = sql;
        _statements.Add(sql, command);
        return command;
    }

    /// <summary>The kept command for what <paramref name="built"/> holds (text and parameters), which is left empty.</summary>
    public SqliteCommand Command(SqliteCommand built)
    {
        var command = Command(built.CommandText);
        var parameters = new SqliteParameter[built.Parameters.Count];
        built.Parameters.CopyTo(parameters, 0);
        built.Parameters.Clear();
        command.Parameters.AddRange(parameters);
        return command;
    }

    public ValueTask DisposeAsync()
    {
        _owner.Return(this);
        return ValueTask.CompletedTask;
    }

    internal void Close()
    {
        DropStatements();
        _connection.Dispose();
    }

    private void DropStatements()
    {
        foreach (var command in _statements.Values) command.Dispose();
        _statements.Clear();
    }
}
