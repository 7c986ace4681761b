namespace NostrRelay.Silo.Hosting;

/// <summary>
/// How the relay notices an edited appsettings.json: by looking at the file every few seconds, not through the
/// kernel's notifications. ASP.NET's default watches the whole content root and every folder under it, and the
/// default store (<c>data/relay.db</c>) lives there: each write to the database and its WAL then woke the watcher,
/// and the notification itself ran inside the writer thread's write call. At 5,700 events/s that was 7 % of the
/// relay's CPU on the watcher's thread and 12 % of the store writer's (docs/benchmarks.md). Polling looks at the
/// configuration files only, so a changed log level still applies, within 4 s.
/// </summary>
internal static class ConfigurationFileWatch
{
    /// <summary>Read by every file provider ASP.NET makes for configuration; an operator's own setting wins.</summary>
    internal const string PollingVariable = "DOTNET_USE_POLLING_FILE_WATCHER";

    /// <summary>Called before the host builder exists: its file providers read the variable when they first watch.</summary>
    public static void PollInsteadOfWatching()
    {
        if (Environment.GetEnvironmentVariable(PollingVariable) is null) Environment.SetEnvironmentVariable(PollingVariable, "true");
    }
}
