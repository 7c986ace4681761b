using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Sqlite;

internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "SQLite write batch of {Count} failed; none of it was committed")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "SQLite write failed; the rest of its batch is retried without it")]
    public static partial void WriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "SQLite checkpoint failed; the WAL keeps growing until one succeeds")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "SQLite event store open at {Path}")]
    public static partial void Opened(ILogger logger, string path);
}
