using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace NostrRelay.Storage.Sql;

/// <summary>How a tag is keyed in the SQL server stores' tags tables (PostgreSQL, MariaDB): its one-letter name as a UTF-16 code, and the SHA-256 of its value.</summary>
internal static class TagKeys
{
    /// <summary>Values up to this many UTF-8 bytes are hashed from the stack.</summary>
    private const int StackLimit = 512;

    /// <summary>NIP-01: only tags named by one letter can be filtered on ("#e"), by their first value.</summary>
    public static bool IsFilterable(string[] tag) => tag.Length >= 2 && tag[0].Length == 1;

    public static int Name(char letter) => letter;

    /// <summary>An address (it holds a d tag, any string) as the bytes stored for it.</summary>
    public static byte[] Address(string address) => Encoding.UTF8.GetBytes(address);

    public static byte[] HashValue(string value)
    {
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(value, buffer);
            return SHA256.HashData(buffer[..written]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
