using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.RocksDb;

internal static partial class RocksDbLog
{
    [LoggerMessage(EventId = 3501, Level = LogLevel.Error, Message = "RocksDB write batch of {Count} failed; none of it was committed")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Error, Message = "RocksDB write failed; it was undone and the rest of its batch committed")]
    public static partial void WriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Information, Message = "RocksDB event store open at {Path}")]
    public static partial void Opened(ILogger logger, string path);
}
