using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>One read-only connection of <see cref="SqliteReaders"/>, used by one read at a time; disposing gives it back.</summary>
internal sealed class SqliteReader : IAsyncDisposable
{
    /// <summary>Statements kept per connection at most; past it the one used longest ago is dropped.</summary>
    private const int MaxStatements = 64;

    private readonly SqliteReaders _owner;
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, Kept> _statements = new(StringComparer.Ordinal);
    private readonly List<SqliteCommand> _used = [];
    private long _uses;
    private bool _rented = true;

    private sealed class Kept(SqliteCommand command)
    {
        public SqliteCommand Command { get; } = command;
        public long LastUse { get; set; }
    }

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
        if (!_statements.TryGetValue(sql, out var kept))
        {
            if (_statements.Count >= MaxStatements) DropLeastRecentlyUsed();
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            kept = new Kept(command);
            _statements.Add(sql, kept);
        }
        kept.LastUse = ++_uses;
        kept.Command.Parameters.Clear();
        _used.Add(kept.Command);
        return kept.Command;
    }

    /// <summary>The kept command for the SQL and parameters that <paramref name="build"/> writes into a scratch command.</summary>
    public SqliteCommand Command(Action<SqliteCommand> build)
    {
        using var built = new SqliteCommand();
        build(built);
        var command = Command(built.CommandText);
        var parameters = new SqliteParameter[built.Parameters.Count];
        built.Parameters.CopyTo(parameters, 0);
        built.Parameters.Clear();
        command.Parameters.AddRange(parameters);
        return command;
    }

    /// <summary>Gives the connection back; the commands it handed out let go of their parameters (and the values in them).</summary>
    public ValueTask DisposeAsync()
    {
        if (!_rented) return ValueTask.CompletedTask;
        _rented = false;
        foreach (var command in _used) command.Parameters.Clear();
        _used.Clear();
        _owner.Return(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Marks the reader taken again by <see cref="SqliteReaders.Rent"/>.</summary>
    internal SqliteReader Rented()
    {
        _rented = true;
        return this;
    }

    internal void Close()
    {
        foreach (var kept in _statements.Values) kept.Command.Dispose();
        _statements.Clear();
        _connection.Dispose();
    }

    private void DropLeastRecentlyUsed()
    {
        string? oldest = null;
        var oldestUse = long.MaxValue;
        foreach (var (sql, kept) in _statements)
        {
            if (kept.LastUse >= oldestUse) continue;
            oldest = sql;
            oldestUse = kept.LastUse;
        }
        if (oldest is null) return;
        _statements.Remove(oldest, out var dropped);
        dropped!.Command.Dispose();
    }
}
