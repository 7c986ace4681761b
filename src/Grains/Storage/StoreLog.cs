using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage;

/// <summary>What every event store logs, named by the store ("SQLite", "PostgreSQL", "RocksDB").</summary>
internal static partial class StoreLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "{Store} write batch of {Count} failed; none of it was committed")]
    public static partial void BatchFailed(ILogger logger, string store, int count, Exception exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "{Store} write failed; the rest of its batch is committed without it")]
    public static partial void WriteFailed(ILogger logger, string store, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "{Store} event store open at {Location}")]
    public static partial void Opened(ILogger logger, string store, string location);
}
