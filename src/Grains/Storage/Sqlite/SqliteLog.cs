using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Sqlite;

internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "SQLite checkpoint failed; the WAL keeps growing until one succeeds")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);
}
