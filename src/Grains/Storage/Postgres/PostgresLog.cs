using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "PostgreSQL event store schema {Schema} created or migrated to version {Version}")]
    public static partial void SchemaApplied(ILogger logger, string schema, int version);
}
