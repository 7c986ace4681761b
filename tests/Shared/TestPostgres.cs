namespace NostrRelay.Testing;

/// <summary>The real PostgreSQL server the test command starts (RELAY_TEST_POSTGRES, or its default: role and password relay, database relay_tests).</summary>
public static class TestPostgres
{
    private const string DefaultConnectionString = "Host=127.0.0.1;Username=relay;Password=relay;Database=relay_tests";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString;
}
