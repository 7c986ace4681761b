namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// Holds <c>&lt;file&gt;.lock</c> beside the database for as long as a store writes the file, so a second writer (a relay
/// started twice, an <c>import</c> beside the running relay) is refused at open with a reason instead of interleaving its
/// commits with the first one's: each writer keeps stream heads and other state in memory, and would go on from stale ones.
/// </summary>
/// <remarks>
/// A file of its own, not the database: SQLite locks the database with POSIX record locks, which the kernel drops when
/// the process closes any descriptor of that file. The lock is the kernel's (.NET takes <c>flock</c> for
/// <see cref="FileShare.None"/>), so it goes with the process however it ends; the empty file stays. It is advisory and
/// best effort: .NET takes none when <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> is set, and on NFS two stores of one
/// process are not told apart.
/// </remarks>
internal sealed class SqliteWriterLock : IDisposable
{
    private readonly FileStream _held;

    private SqliteWriterLock(FileStream held) => _held = held;

    /// <summary>Takes the lock for <paramref name="databasePath"/>; throws when another writer holds it.</summary>
    public static SqliteWriterLock Take(string databasePath)
    {
        var path = databasePath + ".lock";
        try
        {
            // Read access: a lock file another user left (an import run as root) can still be opened and locked.
            return new SqliteWriterLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None));
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new InvalidOperationException(
                $"{databasePath} is being written by another process or store (a running relay, or an import): stop it first. ({path}: {ex.Message})", ex);
        }
    }

    public void Dispose() => _held.Dispose();
}
