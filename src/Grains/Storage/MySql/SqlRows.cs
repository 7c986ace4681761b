using System.Text;
using MySqlConnector;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// Many rows in few statements: a statement's head (<c>INSERT ... VALUES</c>, <c>DELETE ... WHERE</c>) and its rows
/// or terms, cut into statements of at most <see cref="MaxRows"/> rows and about <see cref="MaxBytes"/> bytes, so a
/// batch of large events stays under the server's max_allowed_packet (16 MiB by default).
/// </summary>
internal sealed class SqlRows(string head, string separator, string? tail = null)
{
    private const int MaxRows = 256;
    private const int MaxBytes = 4 << 20;

    private readonly List<MySqlCommand> _commands = [];
    private StringBuilder? _sql;
    private MySqlCommand? _command;
    private int _rows;
    private long _bytes;

    public bool IsEmpty => _commands.Count == 0 && _command is null;

    /// <summary>Starts a row; the caller appends its text (literals of hex and numbers only, or <see cref="Parameter"/>).</summary>
    public StringBuilder Row(long parameterBytes = 0)
    {
        if (_command is not null && (_rows >= MaxRows || _bytes + parameterBytes > MaxBytes)) Close();
        if (_command is null)
        {
            _command = new MySqlCommand();
            _sql = new StringBuilder(head);
            _rows = 0;
            _bytes = 0;
        }
        else _sql!.Append(separator);
        _rows++;
        _bytes += parameterBytes + 64;
        return _sql!;
    }

    /// <summary>A positional parameter for a value that is not written as a literal (an event's JSON, a stream name).</summary>
    public StringBuilder Parameter(StringBuilder row, object value)
    {
        _command!.Parameters.Add(new MySqlParameter { Value = value });
        return row.Append('?');
    }

    private void Close()
    {
        if (tail is not null) _sql!.Append(tail);
        _command!.CommandText = _sql!.ToString();
        _commands.Add(_command);
        _command = null;
        _sql = null;
    }

    public async Task ExecuteAsync(MySqlConnection connection, MySqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (_command is not null) Close();
        try
        {
            foreach (var command in _commands)
            {
                command.Connection = connection;
                command.Transaction = transaction;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Clear();
        }
    }

    public void Clear()
    {
        foreach (var command in _commands) command.Dispose();
        _commands.Clear();
        _command?.Dispose();
        _command = null;
        _sql = null;
    }
}
