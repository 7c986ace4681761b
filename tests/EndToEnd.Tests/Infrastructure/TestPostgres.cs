namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>The real PostgreSQL server the test command starts (RELAY_TEST_POSTGRES, or its default).</summary>
internal static class TestPostgres
{
    private const string DefaultConnectionString = "Host=127.0.0.1;Username=relay;Password=relay;Database=relay_tests";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString;
}
