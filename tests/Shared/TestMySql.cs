namespace NostrRelay.Testing;

/// <summary>The real MariaDB server the test command starts (RELAY_TEST_MYSQL, or its default: user and password relay on 127.0.0.1).</summary>
public static class TestMySql
{
    private const string DefaultConnectionString = "Server=127.0.0.1;Port=3306;User ID=relay;Password=relay";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_MYSQL") is { Length: > 0 } configured ? configured : DefaultConnectionString;
}
