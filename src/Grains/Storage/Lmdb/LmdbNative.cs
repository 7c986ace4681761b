using System.Runtime.InteropServices;

namespace NostrRelay.Storage.Lmdb;

/// <summary>
/// The few LMDB calls the store makes, bound at run time to Debian's liblmdb (package liblmdb0, LMDB 0.9). The
/// LightningDB package bundles an LMDB 1.0 build that needs glibc 2.38 and does not load on Debian 12, and LMDB 1.0's
/// file format is not 0.9's: binding the system's own library keeps one format per machine, the one its packages ship.
/// </summary>
internal sealed unsafe class LmdbNative
{
    public const string LibraryName = "liblmdb.so.0";

    public const uint NoSubdirectory = 0x4000, ReadOnly = 0x20000, NoThreadLocalStorage = 0x200000, NoReadAhead = 0x800000, Create = 0x40000;
    public const int NotFound = -30798, MapFull = -30792, ReadersFull = -30790, TransactionFull = -30788, MapResized = -30785;
    public const int CursorGetCurrent = 4, CursorNext = 8, CursorSetRange = 17;

    private static LmdbNative? _loaded;

    public readonly delegate* unmanaged<IntPtr*, int> EnvCreate;
    public readonly delegate* unmanaged<IntPtr, nuint, int> EnvSetMapSize;
    public readonly delegate* unmanaged<IntPtr, uint, int> EnvSetMaxReaders;
    public readonly delegate* unmanaged<IntPtr, byte*, uint, uint, int> EnvOpen;
    public readonly delegate* unmanaged<IntPtr, void> EnvClose;
    public readonly delegate* unmanaged<IntPtr, EnvInfo*, int> EnvInfoOf;
    public readonly delegate* unmanaged<IntPtr, int*, int> ReaderCheck;
    public readonly delegate* unmanaged<IntPtr, IntPtr, uint, IntPtr*, int> TxnBegin;
    public readonly delegate* unmanaged<IntPtr, int> TxnCommit;
    public readonly delegate* unmanaged<IntPtr, void> TxnAbort;
    public readonly delegate* unmanaged<IntPtr, byte*, uint, uint*, int> DbiOpen;
    public readonly delegate* unmanaged<IntPtr, uint, Value*, Value*, int> Get;
    public readonly delegate* unmanaged<IntPtr, uint, Value*, Value*, uint, int> Put;
    public readonly delegate* unmanaged<IntPtr, uint, Value*, Value*, int> Delete;
    public readonly delegate* unmanaged<IntPtr, uint, IntPtr*, int> CursorOpen;
    public readonly delegate* unmanaged<IntPtr, Value*, Value*, int, int> CursorGet;
    public readonly delegate* unmanaged<IntPtr, void> CursorClose;
    private readonly delegate* unmanaged<int, byte*> _errorText;

    private LmdbNative(IntPtr library)
    {
        EnvCreate = (delegate* unmanaged<IntPtr*, int>)NativeLibrary.GetExport(library, "mdb_env_create");
        EnvSetMapSize = (delegate* unmanaged<IntPtr, nuint, int>)NativeLibrary.GetExport(library, "mdb_env_set_mapsize");
        EnvSetMaxReaders = (delegate* unmanaged<IntPtr, uint, int>)NativeLibrary.GetExport(library, "mdb_env_set_maxreaders");
        EnvOpen = (delegate* unmanaged<IntPtr, byte*, uint, uint, int>)NativeLibrary.GetExport(library, "mdb_env_open");
        EnvClose = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "mdb_env_close");
        EnvInfoOf = (delegate* unmanaged<IntPtr, EnvInfo*, int>)NativeLibrary.GetExport(library, "mdb_env_info");
        ReaderCheck = (delegate* unmanaged<IntPtr, int*, int>)NativeLibrary.GetExport(library, "mdb_reader_check");
        TxnBegin = (delegate* unmanaged<IntPtr, IntPtr, uint, IntPtr*, int>)NativeLibrary.GetExport(library, "mdb_txn_begin");
        TxnCommit = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(library, "mdb_txn_commit");
        TxnAbort = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "mdb_txn_abort");
        DbiOpen = (delegate* unmanaged<IntPtr, byte*, uint, uint*, int>)NativeLibrary.GetExport(library, "mdb_dbi_open");
        Get = (delegate* unmanaged<IntPtr, uint, Value*, Value*, int>)NativeLibrary.GetExport(library, "mdb_get");
        Put = (delegate* unmanaged<IntPtr, uint, Value*, Value*, uint, int>)NativeLibrary.GetExport(library, "mdb_put");
        Delete = (delegate* unmanaged<IntPtr, uint, Value*, Value*, int>)NativeLibrary.GetExport(library, "mdb_del");
        CursorOpen = (delegate* unmanaged<IntPtr, uint, IntPtr*, int>)NativeLibrary.GetExport(library, "mdb_cursor_open");
        CursorGet = (delegate* unmanaged<IntPtr, Value*, Value*, int, int>)NativeLibrary.GetExport(library, "mdb_cursor_get");
        CursorClose = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "mdb_cursor_close");
        _errorText = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(library, "mdb_strerror");
    }

    /// <summary>The library, loaded once; a clear error when it is missing.</summary>
    public static LmdbNative Load()
    {
        if (_loaded is { } loaded) return loaded;
        if (!NativeLibrary.TryLoad(LibraryName, out var library))
            throw new DllNotFoundException($"{LibraryName} is not installed; on Debian or Ubuntu: apt-get install liblmdb0");
        return _loaded = new LmdbNative(library);
    }

    /// <summary>Throws for an LMDB error code; <see cref="MapFull"/> as <see cref="KeyValue.KeyValueFullException"/>, so the writer makes room.</summary>
    public void Check(int code, string operation)
    {
        if (code == 0) return;
        var text = Marshal.PtrToStringUTF8((IntPtr)_errorText(code)) ?? $"error {code}";
        if (code == MapFull) throw new KeyValue.KeyValueFullException($"LMDB {operation}: {text}");
        throw new IOException($"LMDB {operation}: {text} ({code})");
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Value
    {
        public nuint Size;
        public byte* Data;

        public readonly ReadOnlySpan<byte> Span => new(Data, checked((int)Size));
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct EnvInfo
    {
        public IntPtr MapAddress;
        public nuint MapSize;
        public nuint LastPage;
        public nuint LastTransaction;
        public uint MaxReaders;
        public uint ReadersUsed;
    }
}
