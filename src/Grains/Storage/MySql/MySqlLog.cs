using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.MySql;

internal static partial class MySqlLog
{
    [LoggerMessage(EventId = 3304, Level = LogLevel.Information, Message = "MariaDB event store database {Database} created or migrated to version {Version}")]
    public static partial void SchemaApplied(ILogger logger, string database, int version);
}
