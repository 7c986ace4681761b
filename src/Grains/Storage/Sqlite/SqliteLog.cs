using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Sqlite;

internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "SQLite checkpoint failed; the WAL keeps growing until one succeeds")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Error, Message = "SQLite search index update failed; the events wait and are indexed on the next try")]
    public static partial void SearchIndexFailed(ILogger logger, Exception exception);
}
