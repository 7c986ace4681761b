using System.Buffers;
using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// How the store keeps ids, public keys, stream names and tag values (schema version 5): a value of 64 lowercase hex
/// digits, which NIP-01 ids and keys always are, as its 32 bytes; any other value as its text.
/// </summary>
/// <remarks>
/// Half the bytes in every index that holds them: the writer's random index pages per event, the WAL it writes and
/// the cache a query needs all shrink (docs/benchmarks.md). The encoding is one to one and SQLite never finds a BLOB
/// equal to a TEXT, so two values are equal in the store exactly when their strings are; and bytes sort as their
/// lowercase hex does, so "order by id" is unchanged.
/// </remarks>
internal static class SqliteKey
{
    /// <summary>Length of a value kept as bytes, in hex digits.</summary>
    private const int HexLength = 64;

    /// <summary>The SQL for the same encoding of the value <paramref name="text"/>: for values read from a JSON parameter, and for migrating files.</summary>
    public static string InSql(string text) =>
        $"CASE WHEN {IsHexSql(text)} THEN unhex({text}) ELSE {text} END";

    /// <summary>The SQL that is true when <paramref name="text"/> is a TEXT value kept as bytes.</summary>
    /// <remarks>
    /// Both lengths: length(), GLOB and unhex() stop at a NUL character, which a tag value may hold, so without the byte
    /// count the 64 digits and a NUL after them would be taken for (and made the same bytes as) the 64 digits alone.
    /// </remarks>
    public static string IsHexSql(string text) =>
        $"(typeof({text}) = 'text' AND octet_length({text}) = {HexLength} AND length({text}) = {HexLength} AND {text} NOT GLOB '*[^0-9a-f]*')";

    /// <summary>The value to bind for <paramref name="value"/>.</summary>
    public static object Of(string value) => IsHex(value) ? Convert.FromHexString(value) : value;

    /// <summary>The string a key column holds at <paramref name="ordinal"/>.</summary>
    public static string Read(SqliteDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(byte[])
            ? Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(ordinal))
            : reader.GetString(ordinal);

    private static readonly SearchValues<char> LowercaseHex = SearchValues.Create("0123456789abcdef");

    private static bool IsHex(string value) => value.Length == HexLength && !value.AsSpan().ContainsAnyExcept(LowercaseHex);
}
