using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "PostgreSQL write batch of {Count} failed; none of it was committed")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "PostgreSQL write failed; the rest of its batch is committed without it")]
    public static partial void WriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "PostgreSQL event store open in schema {Schema} of {Database} on {Host}")]
    public static partial void Opened(ILogger logger, string schema, string? database, string? host);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "PostgreSQL event store schema {Schema} created or migrated to version {Version}")]
    public static partial void SchemaApplied(ILogger logger, string schema, int version);
}
